package sketches

import (
	"testing"
	"time"
)

// AddUnix must behave exactly as Add, including before the first event,
// for late events, across gaps and after Close.
func TestRateAddUnixMatchesAdd(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	offsets := []time.Duration{0, 10 * time.Millisecond, 900 * time.Millisecond, -2 * time.Second, time.Second,
		1500 * time.Millisecond, 5 * time.Second, 5*time.Second + time.Nanosecond, 2 * time.Hour, 2*time.Hour + time.Second}
	a, b := NewRate(), NewRate()
	for i, off := range offsets {
		ts := base.Add(off)
		a.Add(ts, uint64(i+1))
		b.AddUnix(ts.Unix(), uint64(i+1))
		if a.Live() != b.Live() || a.Current() != b.Current() || a.Quantiles().Count() != b.Quantiles().Count() {
			t.Fatalf("after %v: Add live %d cur %d n %d, AddUnix live %d cur %d n %d", off,
				a.Live(), a.Current(), a.Quantiles().Count(), b.Live(), b.Current(), b.Quantiles().Count())
		}
	}
	a.Close()
	b.Close()
	a.Add(base.Add(3*time.Hour), 7)
	b.AddUnix(base.Add(3*time.Hour).Unix(), 7)
	if a.Current() != 0 || b.Current() != 0 || a.Quantiles().Count() != b.Quantiles().Count() {
		t.Fatal("a closed rate must ignore AddUnix as it ignores Add")
	}
	b.Reset()
	b.AddUnix(base.Unix(), 3)
	if b.Current() != 3 || b.Closed() {
		t.Fatalf("after Reset: current %d closed %v", b.Current(), b.Closed())
	}
	if n := testing.AllocsPerRun(1000, func() { b.AddUnix(base.Unix(), 1) }); n != 0 {
		t.Fatalf("AddUnix allocates %v", n)
	}
}
