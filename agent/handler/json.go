package handler

import "github.com/visorng/visor/agent/metrics"

// SectionJSON renders one handler's section: its metrics plus the period,
// as {"start_ts": unix seconds, "length": seconds}. window selects a merged
// window of p buckets instead of bucket p.
func SectionJSON(h Handler, p int, window bool) (map[string]any, error) {
	w := metrics.NewJSON(nil)
	write := h.WriteBucket
	if window {
		write = h.WriteWindow
	}
	sp, err := write(p, w)
	if err != nil {
		return nil, err
	}
	obj := w.Object()
	obj["period"] = map[string]any{
		"start_ts": sp.Start.Unix(),
		"length":   int64(sp.Length.Seconds()),
	}
	return obj, nil
}
