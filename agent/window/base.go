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
func (b *Base) NewEvent(ts time.Time, deep bool) { b.NewEventUnix(ts.Unix(), deep) }

// NewEventUnix is NewEvent for an event time in Unix seconds (ts.Unix()):
// per-packet paths convert the timestamp once and feed every rate with it.
func (b *Base) NewEventUnix(sec int64, deep bool) {
	b.Events++
	if deep {
		b.DeepSamples++
	}
	b.EventRate.AddUnix(sec, 1)
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

// RateClock keeps a bucket's rates on one clock: when event time enters a
// new second every rate is ticked, so a rate that saw no event in a second
// still records a zero for it (pktvisor samples every rate every second).
// Checking the second costs one comparison per event.
type RateClock struct {
	sec   int64
	rates []*sketches.Rate
}

// NewRateClock ticks rates together.
func NewRateClock(rates ...*sketches.Rate) RateClock { return RateClock{sec: -1, rates: rates} }

// Advance moves every rate to ts if ts is in a new second.
func (c *RateClock) Advance(ts time.Time) { c.AdvanceUnix(ts.Unix(), ts) }

// AdvanceUnix is Advance with sec == ts.Unix() already computed; the check
// inlines into per-event paths, the ticking stays out of line.
func (c *RateClock) AdvanceUnix(sec int64, ts time.Time) {
	if sec != c.sec {
		c.tick(sec, ts)
	}
}

//go:noinline
func (c *RateClock) tick(s int64, ts time.Time) {
	c.sec = s
	for _, r := range c.rates {
		r.Tick(ts)
	}
}

// Rates returns the rates on this clock.
func (c *RateClock) Rates() []*sketches.Rate { return c.rates }

// Close folds every rate's partial second.
func (c *RateClock) Close() {
	for _, r := range c.rates {
		r.Close()
	}
}

// Reset resets every rate and restarts the clock.
func (c *RateClock) Reset() {
	c.sec = -1
	for _, r := range c.rates {
		r.Reset()
	}
}
