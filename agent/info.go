package agent

import (
	"maps"
	"strings"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

// Interface strings pktvisor reports for its modules.
const (
	inputInterface   = "visor.module.input/1.0"
	handlerInterface = "visor.module.handler/1.0"
)

// TapInfo is the JSON object of one tap.
func TapInfo(t *Tap) map[string]any {
	return map[string]any{
		"input_type": t.InputType,
		"interface":  inputInterface,
		"config":     configJSON(t.Config),
		"tags":       configJSON(t.Tags),
	}
}

// configJSON renders a config map; nested Configs become plain maps so
// encoding/json sorts their keys like the rest.
func configJSON(c handler.Config) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		if n, ok := v.(handler.Config); ok {
			out[k] = configJSON(n)
			continue
		}
		out[k] = v
	}
	return out
}

// PolicyInfo is the JSON object of one policy.
func (a *Agent) PolicyInfo(p *Policy) map[string]any {
	taps := map[string]any{}
	if t, ok := a.Tap(p.tap); ok {
		taps[t.Name] = TapInfo(t)
	}
	modules := make(map[string]any, len(p.modules))
	for i, h := range p.modules {
		modules[h.Name()] = handlerInfo(h, p.configs[i])
	}
	return map[string]any{
		"taps":    taps,
		"input":   map[string]any{p.input.name: a.inputInfo(p.input)},
		"modules": modules,
	}
}

func (a *Agent) inputInfo(in *inputInstance) map[string]any {
	running, runErr := in.state()
	a.mu.RLock()
	consumers := 0
	for _, p := range a.policies {
		if p.input == in {
			consumers += len(p.consumers)
		}
	}
	a.mu.RUnlock()
	info := map[string]any{
		"module": map[string]any{
			"name":    in.name,
			"type":    in.inputType,
			"running": running,
			"config":  configJSON(in.config),
		},
		"input": map[string]any{"running": running, "consumers": consumers},
	}
	if runErr != nil {
		info["input"].(map[string]any)["error"] = runErr.Error()
	}
	maps.Copy(info, in.stream.Info())
	return info
}

// InputInfos returns the info object of every input, keyed by name, for
// the app metrics (capture path, drops).
func (a *Agent) InputInfos() map[string]any {
	a.mu.RLock()
	ins := make([]*inputInstance, 0, len(a.inputs))
	for _, in := range a.inputs {
		ins = append(ins, in)
	}
	a.mu.RUnlock()
	out := make(map[string]any, len(ins))
	for _, in := range ins {
		out[in.name] = a.inputInfo(in)
	}
	return out
}

func handlerInfo(h handler.Handler, cfg handler.Config) map[string]any {
	rate, _ := cfg.Uint("deep_sample_rate", 100)
	var periods []any
	for p := 0; p < h.Periods(); p++ {
		ev := &eventWriter{obj: map[string]any{}}
		sp, err := h.WriteBucket(p, ev)
		if err != nil {
			break
		}
		entry := map[string]any{
			"start_tstamp": sp.Start.UTC().Format("2006-01-02 15:04:05"),
			"read_only":    !sp.Live,
			"length":       int64(sp.Length.Seconds()),
			"events":       ev.obj,
		}
		if !sp.Live {
			entry["end_tstamp"] = sp.Start.Add(sp.Length).UTC().Format("2006-01-02 15:04:05")
		}
		periods = append(periods, entry)
	}
	if periods == nil {
		periods = []any{}
	}
	return map[string]any{
		"module": map[string]any{
			"name":      h.Name(),
			"type":      h.Schema(),
			"interface": handlerInterface,
			"running":   true,
			"config":    configJSON(cfg),
		},
		"metrics": map[string]any{
			"deep_sample_rate":   rate,
			"periods_configured": h.Periods(),
			"periods":            periods,
		},
	}
}

// eventWriter keeps only a handler's event counters (events, deep samples,
// event rate), at their own JSON paths, for the handler info "events".
type eventWriter struct {
	obj map[string]any
}

var _ metrics.Writer = (*eventWriter)(nil)

func isEventName(n metrics.Name) bool {
	if len(n.Path) == 0 {
		return false
	}
	last := n.Path[len(n.Path)-1]
	return last == "events" || last == "deep_samples" || last == "event_rate" || strings.HasSuffix(last, "_events")
}

func (e *eventWriter) Counter(n metrics.Name, v uint64) {
	if isEventName(n) {
		metrics.NewJSON(e.obj).Counter(n, v)
	}
}
func (e *eventWriter) Cardinality(metrics.Name, uint64)            {}
func (e *eventWriter) Quantile(metrics.Name, *sketches.Quantile)   {}
func (e *eventWriter) Histogram(metrics.Name, *sketches.Histogram) {}
func (e *eventWriter) TopN(metrics.Name, string, []metrics.Entry)  {}
func (e *eventWriter) Rate(n metrics.Name, r *sketches.Rate, live bool) {
	if isEventName(n) {
		metrics.NewJSON(e.obj).Rate(n, r, live)
	}
}

// Group: event counters are never grouped, so nested metrics are dropped.
func (e *eventWriter) Group(string, string, string) metrics.Writer {
	return &eventWriter{obj: map[string]any{}}
}
