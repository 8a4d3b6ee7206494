package sketches

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestHistogramExact(t *testing.T) {
	bounds := LatencyBoundsUS()
	for _, d := range valueDists {
		for _, n := range sizesFor(t) {
			t.Run(fmt.Sprintf("%s/%d", d.name, n), func(t *testing.T) {
				r := newRand(uint64(n))
				xs := make([]float64, n)
				for i := range xs {
					xs[i] = d.gen(r)
				}
				var h *Histogram
				for _, part := range partition(xs, 3) {
					p, err := NewHistogram(bounds)
					if err != nil {
						t.Fatal(err)
					}
					for i, x := range part {
						if i%2 == 0 {
							p.Add(x)
						} else {
							p.AddWithCount(x, 1)
						}
					}
					if h == nil {
						h = p
					} else if err := h.Merge(p); err != nil {
						t.Fatal(err)
					}
				}
				got := h.Cumulative(nil)
				if len(got) != len(bounds) {
					t.Fatalf("%d cumulative counts for %d bounds", len(got), len(bounds))
				}
				for i, b := range bounds {
					var want uint64
					for _, x := range xs {
						if x <= b {
							want++
						}
					}
					if got[i] != want {
						t.Fatalf("le=%v: %d, want %d", b, got[i], want)
					}
				}
				if h.Count() != uint64(n) {
					t.Fatalf("count %d", h.Count())
				}
				if s := sumOf(xs); math.Abs(h.Sum()-s) > 1e-9*math.Abs(s) {
					t.Fatalf("sum %v, want %v", h.Sum(), s)
				}
				bk := h.Buckets(nil)
				var c uint64
				for i := range bounds {
					c += bk[i]
					if c != got[i] {
						t.Fatal("buckets do not add up to cumulative")
					}
				}
				if c+bk[len(bounds)] != h.Count() {
					t.Fatal("+Inf bucket")
				}
			})
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	h, err := NewHistogram([]float64{-1, 0, 1.5, 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{-5, -1, -0.5, 0, 1.5, 1.6, 10, 10.01, math.Inf(1), math.NaN()} {
		h.Add(v)
	}
	h.AddWithCount(3, 4)
	h.AddWithCount(3, 0)
	if got, want := h.Cumulative(nil), []uint64{2, 4, 5, 11}; !slices.Equal(got, want) {
		t.Fatalf("cumulative %v, want %v", got, want)
	}
	if got, want := h.Buckets(nil), []uint64{2, 2, 1, 6, 3}; !slices.Equal(got, want) {
		t.Fatalf("buckets %v, want %v", got, want)
	}
	if h.Count() != 14 || !math.IsNaN(h.Sum()) {
		t.Fatalf("count %d sum %v", h.Count(), h.Sum())
	}
	h.Reset()
	if h.Count() != 0 || h.Sum() != 0 || slices.Max(h.Buckets(nil)) != 0 {
		t.Fatal("reset")
	}
	if !slices.Equal(h.Bounds(), []float64{-1, 0, 1.5, 10}) {
		t.Fatal("bounds lost")
	}
}

func TestHistogramErrors(t *testing.T) {
	for _, b := range [][]float64{nil, {}, {1, 1}, {2, 1}, {1, math.NaN()}, {math.Inf(1)}, {math.Inf(-1), 0}} {
		if _, err := NewHistogram(b); err == nil {
			t.Errorf("bounds %v accepted", b)
		}
	}
	in := []float64{1, 2, 3}
	a, _ := NewHistogram(in)
	in[0] = 100 // the histogram keeps its own copy
	if a.Bounds()[0] != 1 {
		t.Fatal("bounds aliased")
	}
	for _, o := range [][]float64{{1, 2}, {1, 2, 4}} {
		b, _ := NewHistogram(o)
		if err := a.Merge(b); !errors.Is(err, ErrConfigMismatch) {
			t.Fatalf("merge %v: %v", o, err)
		}
	}
	if err := a.Merge(nil); !errors.Is(err, ErrConfigMismatch) {
		t.Fatal("merge nil")
	}
}

func TestLatencyBoundsUS(t *testing.T) {
	b := LatencyBoundsUS()
	if b[0] != 1 || b[len(b)-1] != 1e7 {
		t.Fatalf("range %v..%v", b[0], b[len(b)-1])
	}
	// The small-value collapse pktvisor's integer histograms show.
	if want := []float64{1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14, 16, 18, 21}; !slices.Equal(b[:len(want)], want) {
		t.Fatalf("prefix %v", b[:len(want)])
	}
	for i, x := range b {
		if x != math.Trunc(x) {
			t.Fatalf("bound %v not an integer", x)
		}
		if i > 0 && x <= b[i-1] {
			t.Fatalf("not increasing at %d", i)
		}
	}
	for _, decade := range []float64{10, 100, 1000, 1e4, 1e5, 1e6} {
		if !slices.Contains(b, decade) {
			t.Errorf("missing %v", decade)
		}
	}
	if _, err := NewHistogram(b); err != nil {
		t.Fatal(err)
	}
}

func TestHistogramAllocs(t *testing.T) {
	h, _ := NewHistogram(LatencyBoundsUS())
	v := 0.0
	if a := testing.AllocsPerRun(1000, func() {
		h.Add(v)
		h.AddWithCount(v*3, 2)
		v += 17
	}); a != 0 {
		t.Fatalf("Add allocates %v", a)
	}
	dst := make([]uint64, 0, 200)
	if a := testing.AllocsPerRun(100, func() { dst = h.Cumulative(dst[:0]) }); a != 0 {
		t.Fatalf("Cumulative allocates %v", a)
	}
}

func BenchmarkHistogram(b *testing.B) {
	bounds := LatencyBoundsUS()
	r := newRand(1)
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Exp(r.NormFloat64()*2 + 6)
	}
	b.Run("Add", func(b *testing.B) {
		h, _ := NewHistogram(bounds)
		b.ReportAllocs()
		for i := range b.N {
			h.Add(vals[i&4095])
		}
	})
	b.Run("Merge", func(b *testing.B) {
		x, _ := NewHistogram(bounds)
		y, _ := NewHistogram(bounds)
		for _, v := range vals {
			x.Add(v)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			_ = y.Merge(x)
		}
	})
}
