package agent

import (
	"errors"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

// Section is one output section of a policy: a handler, or with
// merge_like_handlers every handler of one schema as "<schema>_merged".
type Section struct {
	Name     string
	Schema   string
	Handlers []handler.Handler
}

// Sections lists the policy's output sections in module order; handlers
// with every metric group disabled are left out.
func (p *Policy) Sections() []Section {
	var out []Section
	idx := map[string]int{}
	for _, h := range p.modules {
		if !h.Emits() {
			continue
		}
		if !p.merge {
			out = append(out, Section{Name: h.Name(), Schema: h.Schema(), Handlers: []handler.Handler{h}})
			continue
		}
		if i, ok := idx[h.Schema()]; ok {
			out[i].Handlers = append(out[i].Handlers, h)
			continue
		}
		idx[h.Schema()] = len(out)
		out = append(out, Section{Name: h.Schema() + "_merged", Schema: h.Schema(), Handlers: []handler.Handler{h}})
	}
	return out
}

// Write writes bucket p (or the window of p buckets) of the section into w.
// The span is the first handler's.
func (s Section) Write(p int, win bool, w metrics.Writer) (window.Span, error) {
	write := func(h handler.Handler, w metrics.Writer) (window.Span, error) {
		if win {
			return h.WriteWindow(p, w)
		}
		return h.WriteBucket(p, w)
	}
	if len(s.Handlers) == 1 {
		return write(s.Handlers[0], w)
	}
	g := newMergeGroup()
	var span window.Span
	for i, h := range s.Handlers {
		sp, err := write(h, g)
		if err != nil {
			return sp, err
		}
		if i == 0 {
			span = sp
		}
	}
	g.replay(w)
	return span, nil
}

// JSON renders the section's schema object with its period.
func (s Section) JSON(p int, win bool) (map[string]any, error) {
	w := metrics.NewJSON(nil)
	sp, err := s.Write(p, win, w)
	if err != nil {
		return nil, err
	}
	obj := w.Object()
	obj["period"] = periodJSON(sp)
	return obj, nil
}

func periodJSON(sp window.Span) map[string]any {
	return map[string]any{"start_ts": sp.Start.Unix(), "length": int64(sp.Length.Seconds())}
}

// PromBucket is the bucket exported to Prometheus: the most recent closed
// bucket when one exists, else the live one (pktvisor's rule).
func (s Section) WriteProm(w metrics.Writer) error {
	_, err := s.Write(1, false, w)
	if errors.Is(err, window.ErrPeriod) {
		_, err = s.Write(0, false, w)
	}
	return err
}

// PolicyJSON renders {"<section>": {"<schema>": {...}}} for bucket or
// window p.
func PolicyJSON(p *Policy, period int, win bool) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range p.Sections() {
		obj, err := s.JSON(period, win)
		if err != nil {
			return nil, err
		}
		out[s.Name] = map[string]any{s.Schema: obj}
	}
	return out, nil
}

// LegacyJSON renders the 3.0 form of a policy: {"<schema>": {...}, ...,
// "period": <first section's period>}.
func LegacyJSON(p *Policy, period int, win bool) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range p.Sections() {
		obj, err := s.JSON(period, win)
		if err != nil {
			return nil, err
		}
		if _, ok := out["period"]; !ok {
			out["period"] = obj["period"]
		}
		out[s.Schema] = obj
	}
	return out, nil
}
