package window

import (
	"errors"
	"testing"
	"time"
)

type countBucket struct {
	n      uint64
	closed bool
}

func (b *countBucket) Merge(o *countBucket) { b.n += o.n }
func (b *countBucket) Reset()               { *b = countBucket{} }
func (b *countBucket) Tick(time.Time)       {}
func (b *countBucket) Close(time.Time)      { b.closed = true }

func newCount() *countBucket { return &countBucket{} }

func at(sec int64) time.Time { return time.Unix(1_700_000_000+sec, 0) }

func feed(m *Manager[*countBucket], secs ...int64) {
	for _, s := range secs {
		m.Lock()
		m.Live(at(s)).n++
		m.Unlock()
	}
}

func bucketN(t *testing.T, m *Manager[*countBucket], p int) (uint64, Span) {
	t.Helper()
	var n uint64
	var sp Span
	if err := m.WriteBucket(p, func(b *countBucket, s Span) { n, sp = b.n, s }); err != nil {
		t.Fatalf("bucket %d: %v", p, err)
	}
	return n, sp
}

func TestRotationOnEventTime(t *testing.T) {
	m := New(newCount, Options{Periods: 3, Recorded: true, Now: func() time.Time { return at(0) }})
	m.Lock()
	m.SetStart(at(0))
	m.Unlock()
	// 0..59 stay in the first bucket; 60 starts the second; 130 the third
	// (the shift is 60 s after the previous shift, not minute-aligned);
	// 200 drops the oldest.
	feed(m, 0, 10, 59, 60, 61, 119, 130, 200)
	if got := m.Accumulated(); got != 3 {
		t.Fatalf("accumulated = %d, want 3", got)
	}
	want := []struct {
		n     uint64
		start int64
	}{{1, 200}, {1, 130}, {3, 60}}
	for p, w := range want {
		n, sp := bucketN(t, m, p)
		if n != w.n || sp.Start != at(w.start) {
			t.Errorf("bucket %d = %d events from %v, want %d from %v", p, n, sp.Start, w.n, at(w.start))
		}
	}
	if _, sp := bucketN(t, m, 1); sp.Length != 70*time.Second {
		t.Errorf("closed bucket length %v, want 70s", sp.Length)
	}
	if _, sp := bucketN(t, m, 0); sp.Length != 0 || sp.Live {
		t.Errorf("recorded live bucket span %+v, want zero length, not live", sp)
	}
	m.End(at(230))
	if _, sp := bucketN(t, m, 0); sp.Length != 30*time.Second {
		t.Errorf("ended bucket length %v, want 30s", sp.Length)
	}
	b, sp, err := m.Window(3)
	if err != nil {
		t.Fatal(err)
	}
	if b.n != 5 || sp.Start != at(60) || sp.Length != 30*time.Second+70*time.Second+70*time.Second {
		t.Errorf("window = %d from %v len %v", b.n, sp.Start, sp.Length)
	}
}

func TestSinglePeriodNeverRotates(t *testing.T) {
	m := New(newCount, Options{Periods: 1, Recorded: true})
	feed(m, 0, 100, 1000, 10000)
	if m.Accumulated() != 1 {
		t.Fatalf("accumulated %d", m.Accumulated())
	}
	if n, _ := bucketN(t, m, 0); n != 4 {
		t.Fatalf("n = %d", n)
	}
}

func TestPeriodErrors(t *testing.T) {
	m := New(newCount, Options{Periods: 5})
	feed(m, 0)
	cases := []struct {
		p      int
		window bool
		msg    string
	}{
		{5, false, "invalid metrics period, specify [0, 4]"},
		{-1, false, "invalid metrics period, specify [0, 4]"},
		{2, false, "requested metrics period has not yet accumulated, current range is [0, 0]"},
		{1, true, "invalid metrics period, specify [2, 5]"},
		{6, true, "invalid metrics period, specify [2, 5]"},
	}
	for _, c := range cases {
		var err error
		if c.window {
			_, _, err = m.Window(c.p)
		} else {
			err = m.WriteBucket(c.p, func(*countBucket, Span) {})
		}
		if err == nil || err.Error() != c.msg || !errors.Is(err, ErrPeriod) {
			t.Errorf("period %d window=%v: err %v, want %q", c.p, c.window, err, c.msg)
		}
	}
}

func TestRotationReusesMemory(t *testing.T) {
	m := New(newCount, Options{Periods: 2, Recorded: true})
	feed(m, 0, 60, 120)
	allocs := testing.AllocsPerRun(100, func() {
		m.Lock()
		m.Live(at(0)).n++
		m.Unlock()
	})
	if allocs != 0 {
		t.Fatalf("Live allocates %v per event", allocs)
	}
}

func TestClamps(t *testing.T) {
	for in, want := range map[int]int{0: 5, -3: 1, 1: 1, 10: 10, 11: 10} {
		if got := ClampPeriods(in); got != want {
			t.Errorf("ClampPeriods(%d) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[int]int{0: 100, -1: 1, 50: 50, 101: 100} {
		if got := ClampRate(in); got != want {
			t.Errorf("ClampRate(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestSamplerRate(t *testing.T) {
	s := NewSampler(30)
	deep := 0
	const n = 100000
	for range n {
		if s.Next() {
			deep++
		}
	}
	if deep < n*28/100 || deep > n*32/100 {
		t.Fatalf("30%% sampler kept %d of %d", deep, n)
	}
	all := NewSampler(100)
	for range 100 {
		if !all.Next() {
			t.Fatal("rate 100 must keep every event")
		}
	}
}
