package window

import (
	"time"

	"github.com/visorng/visor/sketches"
)

// Base holds the counters every handler keeps per bucket: events (including
// filtered ones), deep-sampled events, and the event rate.
type Base struct {
	Events      uint64
	DeepSamples uint64
	EventRate   *sketches.Rate
}

// NewBase returns a Base ready for use.
func NewBase() Base { return Base{EventRate: sketches.NewRate()} }

// NewEvent records one event at ts.
func (b *Base) NewEvent(ts time.Time, deep bool) {
	b.Events++
	if deep {
		b.DeepSamples++
	}
	b.EventRate.Add(ts, 1)
}

// Merge adds o into b.
func (b *Base) Merge(o *Base) {
	b.Events += o.Events
	b.DeepSamples += o.DeepSamples
	_ = b.EventRate.Merge(o.EventRate)
}

// Reset keeps the rate's memory.
func (b *Base) Reset() {
	b.Events, b.DeepSamples = 0, 0
	b.EventRate.Reset()
}
