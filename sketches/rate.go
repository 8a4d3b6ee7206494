package sketches

import (
	"fmt"
	"time"
)

// MaxRateGapSeconds caps how many idle seconds one jump in event time may
// record as zero samples, so a clock step (or a capture spanning days) cannot
// swamp the distribution with zeros.
const MaxRateGapSeconds = 3600

// Rate turns a stream of timestamped event counts into per-second samples,
// summarised by a Quantile, plus Live: the count of the last complete second.
//
// Seconds are driven by event time (packet timestamps), not the wall clock,
// so replaying a capture gives the same answer as seeing it live. A second is
// complete once an event or Tick from a later second arrives; every whole
// second skipped in between is a zero sample (capped at MaxRateGapSeconds).
// Events older than the current second count into the current second: no
// reordering, which keeps Add O(1) and allocation-free. The first Add or Tick
// starts the clock.
type Rate struct {
	q       *Quantile
	cur     int64 // unix second being counted
	count   uint64
	live    uint64
	started bool
	closed  bool
	open    bool // started && !closed, the one test of the fast path
}

// NewRate returns a Rate whose samples are kept with DefaultRelativeAccuracy.
func NewRate() *Rate {
	q, err := NewQuantile(DefaultRelativeAccuracy)
	if err != nil {
		panic(err) // unreachable: the constant accuracy is valid
	}
	return &Rate{q: q}
}

// Add counts n events at ts.
func (r *Rate) Add(ts time.Time, n uint64) { r.AddUnix(ts.Unix(), n) }

// AddUnix is Add for an event time already in Unix seconds (ts.Unix()), for
// callers that feed several rates from one timestamp. The common case,
// another event in the second being counted, is small enough to inline.
func (r *Rate) AddUnix(sec int64, n uint64) {
	if sec <= r.cur && r.open {
		r.count += n
		return
	}
	r.addSlow(sec, n)
}

// addSlow is kept out of line so AddUnix stays within the inlining budget.
//
//go:noinline
func (r *Rate) addSlow(sec int64, n uint64) {
	if r.closed {
		return
	}
	r.advance(sec)
	r.count += n
}

// Tick advances event time to ts without an event, closing the seconds before
// it; heartbeats call it so idle seconds become zero samples.
func (r *Rate) Tick(ts time.Time) {
	if r.closed {
		return
	}
	r.advance(ts.Unix())
}

func (r *Rate) advance(sec int64) {
	if !r.started {
		r.cur, r.started, r.open = sec, true, true
		return
	}
	if sec <= r.cur {
		return
	}
	r.q.Add(float64(r.count))
	r.live = r.count
	if gap := sec - r.cur - 1; gap > 0 {
		r.q.AddWithCount(0, uint64(min(gap, MaxRateGapSeconds)))
		r.live = 0
	}
	r.cur, r.count = sec, 0
}

// Close ends sampling (the bucket closed): the current partial second is
// recorded if it counted anything, and later Add and Tick calls are ignored.
func (r *Rate) Close() {
	if r.closed {
		return
	}
	if r.started && r.count > 0 {
		r.q.Add(float64(r.count))
	}
	r.count = 0
	r.closed, r.open = true, false
}

// Closed reports whether Close was called.
func (r *Rate) Closed() bool { return r.closed }

// Live is the count of the last complete second (0 before one completes).
func (r *Rate) Live() uint64 { return r.live }

// Current is the count so far in the second being counted.
func (r *Rate) Current() uint64 { return r.count }

// Quantiles returns the per-second samples. The sketch is owned by r: read
// it, do not modify it. Samples are integers but answers carry the sketch's
// relative error (1 pkt/s may read 1.01): round them for display, which for
// rates below 50/s recovers the exact sample.
func (r *Rate) Quantiles() *Quantile { return r.q }

// Merge folds o's per-second samples into r, for a window merged from
// several buckets. Live becomes the larger of the two (a merged window
// reports whichever bucket is live, and closed buckets keep their last
// value); the partial second o is counting is not merged.
func (r *Rate) Merge(o *Rate) error {
	if o == nil {
		return fmt.Errorf("merge rate: nil rate: %w", ErrConfigMismatch)
	}
	if err := r.q.Merge(o.q); err != nil {
		return fmt.Errorf("merge rate: %w", err)
	}
	r.live = max(r.live, o.live)
	return nil
}

// Reset empties r, reopens it and keeps the sketch's memory.
func (r *Rate) Reset() {
	r.q.Reset()
	*r = Rate{q: r.q}
}
