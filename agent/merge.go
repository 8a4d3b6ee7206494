package agent

import (
	"cmp"
	"slices"

	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

// mergeGroup implements merge_like_handlers at the Writer seam: several
// handlers of one schema write into it, and it replays the combined bucket
// into a real writer. Counters add, sketches merge into private copies,
// top-N rows with the same name add. Cardinalities add too, which
// overestimates when the handlers saw the same items (the HLL registers are
// not exposed through the Writer); pktvisor unions them.
type mergeGroup struct {
	order  []string
	items  map[string]*mergeItem
	groups map[string]*mergeGroup
	// group label for replay
	jsonKey, labelKey, labelValue string
}

type mergeKind int

const (
	mCounter mergeKind = iota
	mCard
	mQuantile
	mRate
	mHist
	mTop
	mGroup
)

type mergeItem struct {
	kind  mergeKind
	name  metrics.Name
	label string
	v     uint64
	q     *sketches.Quantile
	r     *sketches.Rate
	live  bool
	h     *sketches.Histogram
	rows  []metrics.Entry
	group *mergeGroup
}

func newMergeGroup() *mergeGroup {
	return &mergeGroup{items: map[string]*mergeItem{}, groups: map[string]*mergeGroup{}}
}

func (g *mergeGroup) item(key string, kind mergeKind, n metrics.Name) (*mergeItem, bool) {
	it, ok := g.items[key]
	if ok {
		return it, false
	}
	it = &mergeItem{kind: kind, name: n}
	g.items[key] = it
	g.order = append(g.order, key)
	return it, true
}

func (g *mergeGroup) Counter(n metrics.Name, v uint64) {
	it, _ := g.item("c"+n.Prom, mCounter, n)
	it.v += v
}

func (g *mergeGroup) Cardinality(n metrics.Name, v uint64) {
	it, _ := g.item("k"+n.Prom, mCard, n)
	it.v += v
}

func (g *mergeGroup) Quantile(n metrics.Name, q *sketches.Quantile) {
	if q == nil {
		return
	}
	it, fresh := g.item("q"+n.Prom, mQuantile, n)
	if fresh {
		c, err := sketches.NewQuantile(q.RelativeAccuracy())
		if err != nil {
			return
		}
		it.q = c
	}
	if it.q != nil {
		_ = it.q.Merge(q)
	}
}

func (g *mergeGroup) Rate(n metrics.Name, r *sketches.Rate, live bool) {
	if r == nil {
		return
	}
	it, fresh := g.item("r"+n.Prom, mRate, n)
	if fresh {
		it.r = sketches.NewRate()
	}
	_ = it.r.Merge(r)
	it.live = it.live || live
}

func (g *mergeGroup) Histogram(n metrics.Name, h *sketches.Histogram) {
	if h == nil {
		return
	}
	it, fresh := g.item("h"+n.Prom, mHist, n)
	if fresh {
		c, err := sketches.NewHistogram(h.Bounds())
		if err != nil {
			return
		}
		it.h = c
	}
	if it.h != nil {
		_ = it.h.Merge(h)
	}
}

func (g *mergeGroup) TopN(n metrics.Name, label string, rows []metrics.Entry) {
	it, _ := g.item("t"+n.Prom, mTop, n)
	it.label = label
	for _, r := range rows {
		i := slices.IndexFunc(it.rows, func(e metrics.Entry) bool { return e.Name == r.Name })
		if i < 0 {
			it.rows = append(it.rows, r)
			continue
		}
		it.rows[i].Estimate += r.Estimate
	}
}

func (g *mergeGroup) Group(jsonKey, labelKey, labelValue string) metrics.Writer {
	key := "g" + jsonKey + "\x00" + labelKey + "\x00" + labelValue
	it, fresh := g.item(key, mGroup, metrics.Name{})
	if fresh {
		it.group = newMergeGroup()
		it.group.jsonKey, it.group.labelKey, it.group.labelValue = jsonKey, labelKey, labelValue
	}
	return it.group
}

// replay writes the merged bucket into w. topN lists are re-sorted and cut
// to the longest list a handler wrote.
func (g *mergeGroup) replay(w metrics.Writer) {
	for _, key := range g.order {
		it := g.items[key]
		switch it.kind {
		case mCounter:
			w.Counter(it.name, it.v)
		case mCard:
			w.Cardinality(it.name, it.v)
		case mQuantile:
			if it.q != nil {
				w.Quantile(it.name, it.q)
			}
		case mRate:
			w.Rate(it.name, it.r, it.live)
		case mHist:
			if it.h != nil {
				w.Histogram(it.name, it.h)
			}
		case mTop:
			slices.SortStableFunc(it.rows, func(a, b metrics.Entry) int { return cmp.Compare(b.Estimate, a.Estimate) })
			w.TopN(it.name, it.label, it.rows)
		case mGroup:
			it.group.replay(w.Group(it.group.jsonKey, it.group.labelKey, it.group.labelValue))
		}
	}
}
