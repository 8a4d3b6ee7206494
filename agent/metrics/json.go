package metrics

import (
	"math"

	"github.com/visorng/visor/sketches"
)

// JSON builds a handler section as nested maps. encoding/json sorts map keys,
// which matches pktvisor's lexicographically ordered output.
type JSON struct {
	root map[string]any
}

var _ Writer = (*JSON)(nil)

// NewJSON returns a writer filling obj (created when nil).
func NewJSON(obj map[string]any) *JSON {
	if obj == nil {
		obj = map[string]any{}
	}
	return &JSON{root: obj}
}

// Object returns the map built so far.
func (j *JSON) Object() map[string]any { return j.root }

func (j *JSON) set(path []string, v any) {
	m := j.root
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func (j *JSON) Counter(n Name, v uint64)     { j.set(n.Path, v) }
func (j *JSON) Cardinality(n Name, v uint64) { j.set(n.Path, v) }

func quantileValue(n Name, v float64) any {
	if n.Float {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0.0
		}
		return v
	}
	if v < 0 {
		return int64(math.Round(v))
	}
	return uint64(math.Round(v))
}

func quantileObject(n Name, q *sketches.Quantile) map[string]any {
	o := make(map[string]any, len(QuantileRanks)+1)
	for _, r := range QuantileRanks {
		o[r.JSON] = quantileValue(n, q.Quantile(r.Rank))
	}
	return o
}

func (j *JSON) Quantile(n Name, q *sketches.Quantile) {
	if q == nil || q.Empty() {
		return
	}
	j.set(n.Path, quantileObject(n, q))
}

func (j *JSON) Rate(n Name, r *sketches.Rate, withLive bool) {
	if r == nil {
		return
	}
	q := r.Quantiles()
	var o map[string]any
	if q.Empty() {
		if !withLive {
			return
		}
		o = map[string]any{}
	} else {
		o = quantileObject(n, q)
	}
	if withLive {
		o["live"] = r.Live()
	}
	j.set(n.Path, o)
}

func (j *JSON) Histogram(n Name, h *sketches.Histogram) {
	if h == nil || h.Count() == 0 {
		return
	}
	buckets := map[string]any{}
	cum := h.Cumulative(nil)
	prev := uint64(0)
	for i, b := range h.Bounds() {
		// Like pktvisor, report only boundaries whose interval holds mass.
		if cum[i] != prev {
			buckets[FormatBound(b)] = cum[i]
		}
		prev = cum[i]
	}
	buckets["+Inf"] = h.Count()
	j.set(n.Path, map[string]any{"buckets": buckets})
}

func (j *JSON) TopN(n Name, _ string, rows []Entry) {
	list := make([]any, 0, len(rows))
	for _, r := range rows {
		e := map[string]any{"name": r.Name, "estimate": r.Estimate}
		if r.Lat != "" || r.Lon != "" {
			e["lat"], e["lon"] = r.Lat, r.Lon
		}
		list = append(list, e)
	}
	j.set(n.Path, list)
}

func (j *JSON) Group(jsonKey, _, _ string) Writer {
	m, ok := j.root[jsonKey].(map[string]any)
	if !ok {
		m = map[string]any{}
		j.root[jsonKey] = m
	}
	return &JSON{root: m}
}
