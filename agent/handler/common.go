package handler

import (
	"math"
	"slices"

	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/sketches"
)

// Common is the window configuration every handler reads.
type Common struct {
	Name           string
	Periods        int
	SampleRate     int
	TopN           int
	TopNPercentile int
	Recorded       bool
	Tap            string
}

// TopKCapacity is how many candidates each top-N sketch tracks. It is far
// above topn_count so the reported rows are accurate (Space-Saving's error is
// at most total/capacity).
const TopKCapacity = 1024

// ParseCommon reads the window config keys with pktvisor's defaults and
// clamps.
func ParseCommon(name string, cfg Config) (Common, error) {
	c := Common{Name: name}
	var err error
	var u uint64
	if u, err = cfg.Uint("num_periods", 5); err != nil {
		return c, err
	}
	c.Periods = window.ClampPeriods(int(min(u, 1000)))
	if u, err = cfg.Uint("deep_sample_rate", 100); err != nil {
		return c, err
	}
	c.SampleRate = window.ClampRate(int(min(u, 1000)))
	if u, err = cfg.Uint("topn_count", 10); err != nil {
		return c, err
	}
	c.TopN = int(min(u, TopKCapacity))
	if u, err = cfg.Uint("topn_percentile_threshold", 0); err != nil {
		return c, err
	}
	c.TopNPercentile = int(min(u, 100))
	if c.Recorded, err = cfg.Bool("recorded_stream", false); err != nil {
		return c, err
	}
	if c.Tap, err = cfg.String("_internal_tap_name", ""); err != nil {
		return c, err
	}
	return c, nil
}

// WindowOptions returns the window manager options for c.
func (c Common) WindowOptions() window.Options {
	return window.Options{Periods: c.Periods, Recorded: c.Recorded}
}

// Rows turns a top-K sketch into at most TopN rows, cut at the
// topn_percentile_threshold percentile of the kept estimates as pktvisor
// does. format renders a key; it runs only for the rows kept.
//
// Keys that render to the same name (ports summarised into one service
// range, addresses into one subnet) are combined into one row, since a
// list, and a Prometheus family, cannot hold two rows with one label.
// Callers pass every tracked item when format can collide.
func Rows[K comparable](c Common, items []sketches.Item[K], format func(K) string) []metrics.Entry {
	rows := make([]metrics.Entry, 0, min(len(items), c.TopN))
	index := make(map[string]int, cap(rows))
	for _, it := range items {
		name := format(it.Key)
		if i, ok := index[name]; ok {
			rows[i].Estimate += it.Estimate
			continue
		}
		if len(rows) >= c.TopN && len(index) >= c.TopN {
			// Past topn_count distinct names, later rows can only merge
			// into kept ones; a new name is not needed.
			continue
		}
		index[name] = len(rows)
		rows = append(rows, metrics.Entry{Name: name, Estimate: it.Estimate})
	}
	slices.SortStableFunc(rows, func(a, b metrics.Entry) int {
		switch {
		case a.Estimate > b.Estimate:
			return -1
		case a.Estimate < b.Estimate:
			return 1
		}
		return 0
	})
	return cutPercentileRows(c.TopNPercentile, rows)
}

func cutPercentileRows(pct int, rows []metrics.Entry) []metrics.Entry {
	if pct <= 0 || len(rows) == 0 {
		return rows
	}
	est := make([]uint64, len(rows))
	for i, r := range rows {
		est[i] = r.Estimate
	}
	slices.Sort(est)
	idx := int(math.Ceil(float64(pct)/100*float64(len(est)))) - 1
	threshold := est[max(idx, 0)]
	for i, r := range rows {
		if r.Estimate < threshold {
			return rows[:i]
		}
	}
	return rows
}

// ParseModule reads what every handler constructor starts with, in
// pktvisor's order: reject unknown keys (keys plus the common ones), then
// the window config, then the metric groups (all == nil: the handler has
// none, and Groups is nil).
func ParseModule(name string, cfg Config, keys, all, defaults []string) (Common, Groups, error) {
	if err := cfg.Validate(keys); err != nil {
		return Common{}, nil, err
	}
	c, err := ParseCommon(name, cfg)
	if err != nil {
		return c, nil, err
	}
	g, err := ParseGroups(cfg, all, defaults)
	if err != nil {
		return c, nil, err
	}
	return c, g, nil
}
