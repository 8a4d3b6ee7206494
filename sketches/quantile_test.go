package sketches

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

var testRanks = []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}

// oracleRank is the inclusive-rank rule the sketch promises: the k-th
// smallest with k = max(1, ceil(p·n)).
func oracleRank(sorted []float64, p float64) float64 {
	n := len(sorted)
	k := int(math.Ceil(p * float64(n)))
	k = max(1, min(k, n))
	return sorted[k-1]
}

func TestQuantileAccuracy(t *testing.T) {
	const alpha = DefaultRelativeAccuracy
	for _, d := range valueDists {
		for _, n := range sizesFor(t) {
			for _, parts := range []int{1, 4} {
				t.Run(fmt.Sprintf("%s/n=%d/parts=%d", d.name, n, parts), func(t *testing.T) {
					r := newRand(uint64(n) * 31)
					xs := make([]float64, n)
					for i := range xs {
						xs[i] = d.gen(r)
					}
					var q *Quantile
					for _, part := range partition(xs, parts) {
						s, err := NewQuantile(alpha)
						if err != nil {
							t.Fatal(err)
						}
						for _, x := range part {
							s.Add(x)
						}
						if q == nil {
							q = s
						} else if err := q.Merge(s); err != nil {
							t.Fatal(err)
						}
					}
					sorted := slices.Clone(xs)
					slices.Sort(sorted)
					if q.Count() != uint64(n) || q.Empty() {
						t.Fatalf("count %d, want %d", q.Count(), n)
					}
					if q.Min() != sorted[0] || q.Max() != sorted[n-1] {
						t.Fatalf("min/max %v/%v, want %v/%v", q.Min(), q.Max(), sorted[0], sorted[n-1])
					}
					var sum float64
					for _, x := range xs {
						sum += math.Abs(x)
					}
					if math.Abs(q.Sum()-sumOf(xs)) > 1e-9*sum {
						t.Fatalf("sum %v, want %v", q.Sum(), sumOf(xs))
					}
					for _, p := range testRanks {
						want := oracleRank(sorted, p)
						got := q.Quantile(p)
						if math.Abs(got-want) > alpha*math.Abs(want)*(1+1e-9) {
							t.Errorf("p%v = %v, want %v ± %v%%", p, got, want, alpha*100)
						}
					}
				})
			}
		}
	}
}

func sumOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

func TestQuantileExactCases(t *testing.T) {
	q, _ := NewQuantile(0.01)
	if q.Quantile(0.5) != 0 || !q.Empty() || q.Min() != 0 || q.Max() != 0 {
		t.Fatal("empty sketch should answer 0")
	}
	q.Add(math.NaN())
	if !q.Empty() {
		t.Fatal("NaN must be ignored")
	}
	q.AddWithCount(7, 0)
	if !q.Empty() {
		t.Fatal("zero count must be ignored")
	}
	q.Add(123.456)
	for _, p := range testRanks {
		if got := q.Quantile(p); got != 123.456 {
			t.Fatalf("single value p%v = %v", p, got)
		}
	}
	q.Reset()
	q.AddWithCount(-5, 3)
	q.AddWithCount(0, 2)
	q.AddWithCount(5, 5)
	// sorted: -5 -5 -5 0 0 5 5 5 5 5
	for p, want := range map[float64]float64{0: -5, 0.3: -5, 0.31: 0, 0.5: 0, 0.51: 5, 1: 5, -1: -5, 2: 5, math.NaN(): -5} {
		if got := q.Quantile(p); math.Abs(got-want) > 0.01*math.Abs(want) {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if q.Sum() != 10 || q.Count() != 10 {
		t.Fatalf("sum %v count %v", q.Sum(), q.Count())
	}
	q.Add(math.Inf(1))
	q.Add(-math.MaxFloat64)
	if q.Quantile(1) != math.Inf(1) || q.Quantile(0) != -math.MaxFloat64 {
		t.Fatalf("extremes: %v %v", q.Quantile(0), q.Quantile(1))
	}
}

func TestQuantileConstructorAndMergeErrors(t *testing.T) {
	for _, a := range []float64{0, -0.1, 1, 2, math.NaN()} {
		if _, err := NewQuantile(a); err == nil {
			t.Errorf("NewQuantile(%v) accepted", a)
		}
	}
	a, _ := NewQuantile(0.01)
	b, _ := NewQuantile(0.02)
	b.Add(1)
	if err := a.Merge(b); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("merge 1%% with 2%%: %v", err)
	}
	if err := a.Merge(nil); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("merge nil: %v", err)
	}
	if !a.Empty() {
		t.Fatal("failed merge modified the sketch")
	}
	// Merging an empty sketch, and into an empty sketch.
	c, _ := NewQuantile(0.01)
	if err := a.Merge(c); err != nil || !a.Empty() {
		t.Fatal(err)
	}
	c.Add(-3)
	if err := a.Merge(c); err != nil || a.Min() != -3 || a.Max() != -3 {
		t.Fatalf("%v %v %v", err, a.Min(), a.Max())
	}
}

// The bins are bounded: values spread over 600 decades keep the store at
// QuantileMaxBins while the top quantiles stay accurate.
func TestQuantileBoundedBins(t *testing.T) {
	q, _ := NewQuantile(0.01)
	r := newRand(9)
	var xs []float64
	for range 100_000 {
		x := math.Pow(10, r.Float64()*600-300)
		xs = append(xs, x)
		q.Add(x)
	}
	st := q.dd.GetPositiveValueStore()
	lo, _ := st.MinIndex()
	hi, _ := st.MaxIndex()
	if span := hi - lo + 1; span > QuantileMaxBins {
		t.Fatalf("store spans %d bins, limit %d", span, QuantileMaxBins)
	}
	slices.Sort(xs)
	// 2048 bins at 1 % cover about 17 decades: the top 2.5 % of this
	// 600-decade spread keep the guarantee, lower ranks are collapsed.
	for _, p := range []float64{0.98, 0.99, 0.999, 1} {
		want := oracleRank(xs, p)
		if got := q.Quantile(p); math.Abs(got-want) > 0.01*want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

func TestQuantileAddAllocs(t *testing.T) {
	q, _ := NewQuantile(0.01)
	r := newRand(1)
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Exp(r.NormFloat64()*3) * float64(1-2*(i&1))
	}
	for _, v := range vals {
		q.Add(v)
	}
	i := 0
	if a := testing.AllocsPerRun(10000, func() {
		q.Add(vals[i%len(vals)])
		q.AddWithCount(vals[(i+7)%len(vals)], 3)
		i++
	}); a != 0 {
		t.Fatalf("Add allocates %v", a)
	}
	// Reset keeps the bins: refilling the same range does not allocate.
	if a := testing.AllocsPerRun(20, func() {
		q.Reset()
		for _, v := range vals {
			q.Add(v)
		}
	}); a != 0 {
		t.Fatalf("Reset+refill allocates %v", a)
	}
}

func BenchmarkQuantileAdd(b *testing.B) {
	q, _ := NewQuantile(0.01)
	r := newRand(1)
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Exp(r.NormFloat64()*2 + 5)
	}
	for _, v := range vals {
		q.Add(v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q.Add(vals[i&4095])
	}
}

func BenchmarkQuantileMerge(b *testing.B) {
	mk := func(seed uint64) *Quantile {
		q, _ := NewQuantile(0.01)
		r := newRand(seed)
		for range 100_000 {
			q.Add(math.Exp(r.NormFloat64()*2 + 5))
		}
		return q
	}
	src := mk(2)
	dst := mk(3)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := dst.Merge(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuantileQuery(b *testing.B) {
	q, _ := NewQuantile(0.01)
	r := newRand(1)
	for range 100_000 {
		q.Add(math.Exp(r.NormFloat64()*2 + 5))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = q.Quantile(0.99)
	}
}
