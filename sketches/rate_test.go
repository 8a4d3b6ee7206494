package sketches

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(sec int, ms int) time.Time {
	return t0.Add(time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond)
}

// checkSamples compares a Rate's sample sketch with the exact per-second
// samples.
func checkSamples(t *testing.T, r *Rate, want []float64) {
	t.Helper()
	q := r.Quantiles()
	if q.Count() != uint64(len(want)) {
		t.Fatalf("samples %d, want %d (%v)", q.Count(), len(want), want)
	}
	if len(want) == 0 {
		return
	}
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	for _, p := range testRanks {
		w := oracleRank(sorted, p)
		if got := q.Quantile(p); math.Abs(got-w) > DefaultRelativeAccuracy*w*(1+1e-9) {
			t.Errorf("p%v = %v, want %v", p, got, w)
		}
	}
	if q.Sum() != sumOf(want) || q.Max() != sorted[len(sorted)-1] {
		t.Errorf("sum %v max %v, want %v %v", q.Sum(), q.Max(), sumOf(want), sorted[len(sorted)-1])
	}
}

func TestRatePatterns(t *testing.T) {
	type step struct {
		tick     bool
		sec, ms  int
		n        uint64
		wantLive uint64
	}
	tests := []struct {
		name    string
		steps   []step
		close   bool
		samples []float64
	}{
		{name: "empty"},
		{
			name:    "one partial second is not a sample until close",
			steps:   []step{{sec: 0, n: 5}},
			samples: nil,
		},
		{
			name:    "close folds the partial second",
			steps:   []step{{sec: 0, n: 5}, {sec: 0, ms: 900, n: 2}},
			close:   true,
			samples: []float64{7},
		},
		{
			name: "steady seconds",
			steps: []step{
				{sec: 0, n: 10}, {sec: 0, ms: 500, n: 10},
				{sec: 1, n: 30, wantLive: 20},
				{sec: 2, ms: 999, n: 1, wantLive: 30},
				{sec: 3, n: 4, wantLive: 1},
			},
			samples: []float64{20, 30, 1},
		},
		{
			name: "gap seconds are zero samples and live drops to zero",
			steps: []step{
				{sec: 0, n: 3},
				{sec: 1, n: 6, wantLive: 3},
				{sec: 4, n: 9, wantLive: 0}, // seconds 2 and 3 were empty
				{sec: 5, n: 1, wantLive: 9},
			},
			close:   true,
			samples: []float64{3, 6, 0, 0, 9, 1},
		},
		{
			name: "tick closes idle seconds",
			steps: []step{
				{sec: 0, n: 8},
				{tick: true, sec: 1, wantLive: 8},
				{tick: true, sec: 1, ms: 500, wantLive: 8},
				{tick: true, sec: 2, wantLive: 0}, // second 1 had nothing
				{tick: true, sec: 5, wantLive: 0},
			},
			close:   true, // current second empty: nothing folded
			samples: []float64{8, 0, 0, 0, 0},
		},
		{
			name: "tick starts the clock",
			steps: []step{
				{tick: true, sec: 0},
				{sec: 2, n: 1, wantLive: 0},
			},
			samples: []float64{0, 0},
		},
		{
			name: "late timestamps count into the current second",
			steps: []step{
				{sec: 0, n: 1},
				{sec: 1, n: 2, wantLive: 1},
				{sec: 0, ms: 300, n: 5, wantLive: 1}, // late
				{sec: 2, n: 1, wantLive: 7},
			},
			samples: []float64{1, 7},
		},
		{
			name: "sub-second order within a second does not matter",
			steps: []step{
				{sec: 0, ms: 900, n: 1}, {sec: 0, ms: 100, n: 1},
				{sec: 1, ms: 1, n: 1, wantLive: 2},
			},
			samples: []float64{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRate()
			for i, s := range tt.steps {
				if s.tick {
					r.Tick(at(s.sec, s.ms))
				} else {
					r.Add(at(s.sec, s.ms), s.n)
				}
				if r.Live() != s.wantLive {
					t.Fatalf("step %d: live %d, want %d", i, r.Live(), s.wantLive)
				}
			}
			if tt.close {
				r.Close()
				if !r.Closed() {
					t.Fatal("not closed")
				}
				r.Add(at(100, 0), 50) // ignored after close
				r.Tick(at(200, 0))
			}
			checkSamples(t, r, tt.samples)
		})
	}
}

func TestRateGapCap(t *testing.T) {
	r := NewRate()
	r.Add(at(0, 0), 1)
	r.Add(at(2*3600, 0), 1) // two hours later
	if got := r.Quantiles().Count(); got != 1+MaxRateGapSeconds {
		t.Fatalf("samples %d, want %d", got, 1+MaxRateGapSeconds)
	}
	if r.Current() != 1 {
		t.Fatalf("current %d", r.Current())
	}
}

// A long synthetic stream with a known per-second pattern, checked at each
// boundary and against the exact samples, merged across buckets.
func TestRateKnownPatternMerged(t *testing.T) {
	perSec := func(s int) uint64 { return uint64((s*37)%101) * uint64(s%7) } // includes zeros
	var all []float64
	var buckets []*Rate
	for b := range 3 {
		r := NewRate()
		for s := b * 60; s < (b+1)*60; s++ {
			n := perSec(s)
			for k := range n {
				r.Add(at(s, int(k*999/max(n, 1))), 1)
			}
			if n == 0 {
				r.Tick(at(s, 500))
			}
			all = append(all, float64(n))
		}
		r.Tick(at((b+1)*60, 0)) // the next bucket's first heartbeat closes the last second
		r.Close()
		buckets = append(buckets, r)
	}
	m := NewRate()
	for _, b := range buckets {
		if err := m.Merge(b); err != nil {
			t.Fatal(err)
		}
	}
	checkSamples(t, m, all)
	if m.Live() != perSec(179) {
		t.Fatalf("merged live %d, want the largest bucket live %d", m.Live(), perSec(179))
	}
	if err := m.Merge(nil); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("merge nil: %v", err)
	}
}

func TestRateResetAndAllocs(t *testing.T) {
	r := NewRate()
	sec := 0
	for range 1000 {
		r.Add(at(sec, 0), uint64(sec%50))
		sec++
	}
	if a := testing.AllocsPerRun(5000, func() {
		r.Add(at(sec/3, 0), uint64(sec%50))
		sec++
	}); a != 0 {
		t.Fatalf("Add allocates %v", a)
	}
	if a := testing.AllocsPerRun(100, func() { r.Tick(at(sec, 0)); sec++ }); a != 0 {
		t.Fatalf("Tick allocates %v", a)
	}
	r.Close()
	r.Reset()
	if r.Closed() || r.Live() != 0 || !r.Quantiles().Empty() || r.Current() != 0 {
		t.Fatal("reset left state")
	}
	r.Add(at(0, 0), 2)
	r.Add(at(1, 0), 2)
	if r.Live() != 2 || r.Quantiles().Count() != 1 {
		t.Fatal("reset rate does not restart the clock")
	}
	if a := testing.AllocsPerRun(20, func() {
		r.Reset()
		for s := range 100 {
			r.Add(at(s, 0), uint64(s%50))
		}
	}); a != 0 {
		t.Fatalf("Reset+refill allocates %v", a)
	}
}

func BenchmarkRateAdd(b *testing.B) {
	r := NewRate()
	for s := range 1000 {
		r.Add(at(s, 0), uint64(s%500))
	}
	base := t0.Add(1000 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// About 10k events per second of event time.
		r.Add(base.Add(time.Duration(i)*100*time.Microsecond), 1)
	}
}

func BenchmarkRateMerge(b *testing.B) {
	src, dst := NewRate(), NewRate()
	for s := range 3600 {
		src.Add(at(s, 0), uint64(s%500))
		dst.Add(at(s, 0), uint64(s%300))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = dst.Merge(src)
	}
}
