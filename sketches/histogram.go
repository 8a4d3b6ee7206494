package sketches

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Histogram counts values into fixed buckets, Prometheus style: bucket i
// holds values v with bounds[i-1] < v <= bounds[i], and a last implicit +Inf
// bucket holds the rest (NaN included, as client_golang does).
type Histogram struct {
	bounds []float64
	counts []uint64 // len(bounds)+1, last is +Inf
	count  uint64
	sum    float64
}

// NewHistogram returns an empty histogram with the given upper bounds, which
// must be finite and strictly increasing (the +Inf bucket is implicit). The
// slice is copied.
func NewHistogram(upperBounds []float64) (*Histogram, error) {
	if len(upperBounds) == 0 {
		return nil, fmt.Errorf("histogram: no bounds")
	}
	for i, b := range upperBounds {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("histogram: bound %d is %v, want finite", i, b)
		}
		if i > 0 && !(b > upperBounds[i-1]) {
			return nil, fmt.Errorf("histogram: bound %d (%v) not above bound %d (%v)", i, b, i-1, upperBounds[i-1])
		}
	}
	return &Histogram{
		bounds: slices.Clone(upperBounds),
		counts: make([]uint64, len(upperBounds)+1),
	}, nil
}

// Add counts one value.
func (h *Histogram) Add(v float64) { h.AddWithCount(v, 1) }

// AddWithCount counts n copies of v.
func (h *Histogram) AddWithCount(v float64, n uint64) {
	if n == 0 {
		return
	}
	h.counts[sort.SearchFloat64s(h.bounds, v)] += n
	h.count += n
	h.sum += v * float64(n)
}

// Merge adds o's counts into h; the bounds must be identical.
func (h *Histogram) Merge(o *Histogram) error {
	if o == nil {
		return fmt.Errorf("merge histogram: nil histogram: %w", ErrConfigMismatch)
	}
	if !slices.Equal(h.bounds, o.bounds) {
		return fmt.Errorf("merge histogram: %d bounds vs %d different: %w", len(h.bounds), len(o.bounds), ErrConfigMismatch)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
	return nil
}

// Count is the number of values added (the +Inf cumulative count).
func (h *Histogram) Count() uint64 { return h.count }

// Sum is the sum of the values added.
func (h *Histogram) Sum() float64 { return h.sum }

// Bounds returns the upper bounds; the caller must not modify them.
func (h *Histogram) Bounds() []float64 { return h.bounds }

// Cumulative appends, for each bound in order, the number of values <= that
// bound (len(Bounds()) numbers; the +Inf count is Count()).
func (h *Histogram) Cumulative(dst []uint64) []uint64 {
	var c uint64
	for _, n := range h.counts[:len(h.bounds)] {
		c += n
		dst = append(dst, c)
	}
	return dst
}

// Buckets appends the per-bucket (non-cumulative) counts, len(Bounds())+1
// numbers, the last for +Inf; pktvisor reports only bounds whose own bucket
// is non-empty, which this makes easy to find.
func (h *Histogram) Buckets(dst []uint64) []uint64 { return append(dst, h.counts...) }

// Reset zeroes the counts and keeps the bounds.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.count, h.sum = 0, 0
}

// LatencyBoundsUS returns histogram bounds for microsecond latencies, the
// integer form of pktvisor's series: 10^(b/18) · 10^e for b in 0..17 (the
// exponent b/18 computed in float32, as upstream), truncated to integers,
// with repeats removed, from 1 to 10^7 µs (10 s) inclusive. Small values
// collapse (1, 2, …, 8, 10, 11, 12, 14, …); above 100 there are 18 bounds per
// decade, about 13.6 % apart.
func LatencyBoundsUS() []float64 {
	var out []float64
	for e := 0; e <= 7; e++ {
		for b := 0; b < 18; b++ {
			x := float64(float32(b) / 18)
			v := math.Trunc(math.Pow(10, x) * math.Pow(10, float64(e)))
			if v > 1e7 {
				return out
			}
			if len(out) == 0 || v > out[len(out)-1] {
				out = append(out, v)
			}
		}
	}
	return out
}
