package sketches

import (
	"errors"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// DefaultRelativeAccuracy is the quantile accuracy the agent uses (1 %).
const DefaultRelativeAccuracy = 0.01

// QuantileMaxBins bounds each of a Quantile's two stores (positive and
// negative values). With 1 % accuracy 2048 bins span about 18 decades of
// dynamic range before the lowest bins are collapsed, so latencies, sizes and
// rates never reach the limit in practice, and a Quantile can never use more
// than 2 × 2048 × 8 bytes of bins however wide its inputs are.
const QuantileMaxBins = 2048

// ErrConfigMismatch is returned (wrapped) when two sketches with different
// configurations are merged.
var ErrConfigMismatch = errors.New("sketch configuration mismatch")

// Quantile is a DDSketch with a relative-accuracy guarantee on value
// quantiles, plus exact count, sum, min and max.
//
// Quantile(p) uses the inclusive rank rule of pktvisor's KLL sketches: the
// answer is the k-th smallest value with k = ceil(p·n) (k = 1 for p = 0).
// The returned value x̂ satisfies |x̂ − x| ≤ α·|x| for that exact k-th value
// x, where α is the relative accuracy (as long as fewer than QuantileMaxBins
// buckets are needed; past that, the lowest-magnitude values lose accuracy).
// Ranks 0 and 1 return the exact Min and Max, and other answers are clamped
// to [Min, Max], which keeps the bound and makes single-valued inputs exact.
type Quantile struct {
	dd       *ddsketch.DDSketch
	mapping  mapping.IndexMapping
	maxIndex float64 // largest magnitude the mapping can index
	count    uint64
	sum      float64
	min, max float64
}

// NewQuantile returns an empty quantile sketch with the given relative
// accuracy, in (0, 1).
func NewQuantile(relativeAccuracy float64) (*Quantile, error) {
	if !(relativeAccuracy > 0 && relativeAccuracy < 1) {
		return nil, fmt.Errorf("quantile sketch: relative accuracy %v not in (0, 1)", relativeAccuracy)
	}
	// The cubically interpolated mapping indexes with bit operations instead
	// of a logarithm, about twice as fast as the log mapping for about 1 %
	// more bins at the same guarantee.
	m, err := mapping.NewCubicallyInterpolatedMapping(relativeAccuracy)
	if err != nil {
		return nil, fmt.Errorf("quantile sketch: %w", err)
	}
	// Collapsing the lowest bins keeps the tail (p90..p99, what the agent
	// reports) accurate when the bin budget is exceeded.
	dd := ddsketch.NewDDSketch(m,
		store.NewCollapsingLowestDenseStore(QuantileMaxBins),
		store.NewCollapsingLowestDenseStore(QuantileMaxBins))
	return &Quantile{dd: dd, mapping: m, maxIndex: m.MaxIndexableValue()}, nil
}

// RelativeAccuracy reports the accuracy given at construction.
func (q *Quantile) RelativeAccuracy() float64 { return q.mapping.RelativeAccuracy() }

// Add records one value. Negative values and zero are allowed; NaN is
// ignored; magnitudes beyond what the mapping indexes (about 1e307) are
// clamped to that limit in the sketch (Min/Max/Sum keep the true value).
func (q *Quantile) Add(v float64) { q.AddWithCount(v, 1) }

// AddWithCount records n copies of v.
func (q *Quantile) AddWithCount(v float64, n uint64) {
	if n == 0 || v != v {
		return
	}
	if q.count == 0 {
		q.min, q.max = v, v
	} else if v < q.min {
		q.min = v
	} else if v > q.max {
		q.max = v
	}
	q.count += n
	q.sum += v * float64(n)
	sv := v
	if sv > q.maxIndex {
		sv = q.maxIndex
	} else if sv < -q.maxIndex {
		sv = -q.maxIndex
	}
	// Cannot fail: count is positive, v is not NaN and within range.
	_ = q.dd.AddWithCount(sv, float64(n))
}

// Merge adds o's values into q. Both must have the same relative accuracy.
// o is not modified.
func (q *Quantile) Merge(o *Quantile) error {
	if o == nil {
		return fmt.Errorf("merge quantile: nil sketch: %w", ErrConfigMismatch)
	}
	if !q.mapping.Equals(o.mapping) {
		return fmt.Errorf("merge quantile: relative accuracy %v vs %v: %w",
			q.RelativeAccuracy(), o.RelativeAccuracy(), ErrConfigMismatch)
	}
	if o.count == 0 {
		return nil
	}
	if q.count == 0 {
		q.min, q.max = o.min, o.max
	} else {
		q.min = min(q.min, o.min)
		q.max = max(q.max, o.max)
	}
	q.count += o.count
	q.sum += o.sum
	if err := q.dd.MergeWith(o.dd); err != nil {
		return fmt.Errorf("merge quantile: %w", err)
	}
	return nil
}

// Quantile returns the value at rank p ∈ [0, 1] (clamped; NaN counts as 0),
// or 0 when the sketch is empty. See the type comment for the rank rule.
func (q *Quantile) Quantile(p float64) float64 {
	if q.count == 0 {
		return 0
	}
	if !(p > 0) {
		p = 0
	} else if p > 1 {
		p = 1
	}
	n := q.dd.GetCount()
	k := math.Ceil(p * n)
	// The extremes are known exactly.
	if k <= 1 {
		return q.min
	}
	if k >= n {
		return q.max
	}
	// KeyAtRank(r) is the first bin whose cumulative count exceeds r, i.e.
	// the bin holding the (r+1)-th smallest element of that store.
	neg := q.dd.GetNegativeValueStore()
	nNeg := neg.TotalCount()
	var v float64
	switch zero := q.dd.GetZeroCount(); {
	case k <= nNeg:
		// Negative values: the k-th smallest is the (nNeg-k+1)-th smallest
		// magnitude.
		v = -q.mapping.Value(neg.KeyAtRank(nNeg - k))
	case k <= nNeg+zero:
		v = 0
	default:
		v = q.mapping.Value(q.dd.GetPositiveValueStore().KeyAtRank(k - nNeg - zero - 1))
	}
	return min(max(v, q.min), q.max)
}

// Count is the exact number of values added.
func (q *Quantile) Count() uint64 { return q.count }

// Sum is the exact (floating-point) sum of the values added.
func (q *Quantile) Sum() float64 { return q.sum }

// Min is the smallest value added, or 0 when empty.
func (q *Quantile) Min() float64 { return q.min }

// Max is the largest value added, or 0 when empty. (pktvisor exports it as
// the summary's _sum.)
func (q *Quantile) Max() float64 { return q.max }

// Empty reports whether nothing has been added.
func (q *Quantile) Empty() bool { return q.count == 0 }

// Reset empties the sketch and keeps its bins for reuse.
func (q *Quantile) Reset() {
	q.dd.Clear()
	q.count, q.sum, q.min, q.max = 0, 0, 0, 0
}
