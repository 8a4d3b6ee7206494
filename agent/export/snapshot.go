// Package export pushes the agent's metrics to central systems: OTLP over
// HTTP (an OpenTelemetry Collector, Grafana Alloy, Mimir's OTLP endpoint)
// and Prometheus remote write (Prometheus, Mimir, Thanos Receive,
// VictoriaMetrics). Both read the same Snapshot, built by a metrics.Writer,
// so pushed names and labels are the ones /metrics serves.
package export

import (
	"errors"
	"math"
	"time"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/sketches"
)

// Kind is the shape of a Point.
type Kind uint8

// Point kinds. Counters, cardinalities and top-N rows are gauges, as in
// pktvisor's Prometheus and OTLP output (buckets rotate, so they are not
// monotonic).
const (
	Gauge Kind = iota
	Summary
	Histogram
)

// QuantileValue is one quantile of a Summary.
type QuantileValue struct{ Quantile, Value float64 }

// Point is one series' value at snapshot time.
type Point struct {
	Name   string
	Help   string
	Kind   Kind
	Labels []metrics.Label
	// Value of a Gauge.
	Value float64
	// Count and Sum of a Summary or Histogram.
	Count uint64
	Sum   float64
	// Quantiles of a Summary.
	Quantiles []QuantileValue
	// Bounds and cumulative counts (≤ bound) of a Histogram; the +Inf
	// count is Count.
	Bounds     []float64
	Cumulative []uint64
}

// PolicyMetrics is the exported bucket of every section of one policy.
type PolicyMetrics struct {
	Policy string
	// Start and End of the bucket (the first section's).
	Start, End time.Time
	Points     []Point
}

// Source gives the current metrics of every policy. It is the only thing
// exporters need from the agent, so they are tested without one.
type Source interface {
	Snapshot() ([]PolicyMetrics, error)
}

// Recorder is a metrics.Writer that keeps Points.
type Recorder struct {
	labels []metrics.Label
	points *[]Point
}

var _ metrics.Writer = (*Recorder)(nil)

// NewRecorder records points carrying labels.
func NewRecorder(labels ...metrics.Label) *Recorder {
	return &Recorder{labels: labels, points: new([]Point)}
}

// Points returns what was recorded.
func (r *Recorder) Points() []Point { return *r.points }

func (r *Recorder) add(p Point, extra ...metrics.Label) {
	p.Labels = make([]metrics.Label, 0, len(r.labels)+len(extra))
	p.Labels = append(append(p.Labels, r.labels...), extra...)
	*r.points = append(*r.points, p)
}

// Counter records a gauge.
func (r *Recorder) Counter(n metrics.Name, v uint64) {
	r.add(Point{Name: n.Prom, Help: n.Help, Kind: Gauge, Value: float64(v)})
}

// Cardinality records a gauge.
func (r *Recorder) Cardinality(n metrics.Name, v uint64) { r.Counter(n, v) }

func (r *Recorder) summary(n metrics.Name, q *sketches.Quantile) {
	qs := make([]QuantileValue, 0, len(metrics.QuantileRanks))
	for _, rk := range metrics.QuantileRanks {
		v := q.Quantile(rk.Rank)
		if !n.Float {
			v = math.Round(v)
		}
		qs = append(qs, QuantileValue{rk.Rank, v})
	}
	r.add(Point{Name: n.Prom, Help: n.Help, Kind: Summary, Count: q.Count(), Sum: q.Sum(), Quantiles: qs})
}

// Quantile records a summary; empty sketches are skipped as in /metrics.
func (r *Recorder) Quantile(n metrics.Name, q *sketches.Quantile) {
	if q == nil || q.Empty() {
		return
	}
	r.summary(n, q)
}

// Rate records the per-second quantiles as a summary.
func (r *Recorder) Rate(n metrics.Name, rt *sketches.Rate, _ bool) {
	if rt == nil || rt.Quantiles().Empty() {
		return
	}
	r.summary(n, rt.Quantiles())
}

// Histogram records bounds and cumulative counts.
func (r *Recorder) Histogram(n metrics.Name, h *sketches.Histogram) {
	if h == nil || h.Count() == 0 {
		return
	}
	r.add(Point{Name: n.Prom, Help: n.Help, Kind: Histogram, Count: h.Count(), Sum: h.Sum(),
		Bounds: append([]float64(nil), h.Bounds()...), Cumulative: h.Cumulative(nil)})
}

// TopN records one gauge per row with the item label (+ lat/lon).
func (r *Recorder) TopN(n metrics.Name, label string, rows []metrics.Entry) {
	for _, e := range rows {
		p := Point{Name: n.Prom, Help: n.Help, Kind: Gauge, Value: float64(e.Estimate)}
		if e.Lat != "" || e.Lon != "" {
			r.add(p, metrics.Label{Key: label, Value: e.Name}, metrics.Label{Key: "lat", Value: e.Lat}, metrics.Label{Key: "lon", Value: e.Lon})
			continue
		}
		r.add(p, metrics.Label{Key: label, Value: e.Name})
	}
}

// Group adds or replaces the group's label.
func (r *Recorder) Group(_, labelKey, labelValue string) metrics.Writer {
	if labelKey == "" {
		return r
	}
	labels := make([]metrics.Label, 0, len(r.labels)+1)
	replaced := false
	for _, l := range r.labels {
		if l.Key == labelKey {
			l.Value, replaced = labelValue, true
		}
		labels = append(labels, l)
	}
	if !replaced {
		labels = append(labels, metrics.Label{Key: labelKey, Value: labelValue})
	}
	return &Recorder{labels: labels, points: r.points}
}

// AgentSource snapshots an agent's policies with the bucket and labels of
// the per-policy Prometheus endpoint (policy, handler, tap, + instance).
type AgentSource struct {
	Agent    *agent.Agent
	Instance string
	Now      func() time.Time
}

var _ Source = (*AgentSource)(nil)

// Snapshot writes the most recent closed bucket of every section (the live
// one while none has closed), as /metrics does.
func (s *AgentSource) Snapshot() ([]PolicyMetrics, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var out []PolicyMetrics
	var errs []error
	for _, p := range s.Agent.Policies() {
		pm := PolicyMetrics{Policy: p.Name()}
		for i, sec := range p.Sections() {
			labels := make([]metrics.Label, 0, 4)
			if s.Instance != "" {
				labels = append(labels, metrics.Label{Key: "instance", Value: s.Instance})
			}
			labels = append(labels,
				metrics.Label{Key: "policy", Value: p.Name()},
				metrics.Label{Key: "handler", Value: sec.Name},
				metrics.Label{Key: "tap", Value: p.Tap()})
			rec := NewRecorder(labels...)
			sp, err := sec.Write(1, false, rec)
			if errors.Is(err, window.ErrPeriod) {
				rec = NewRecorder(labels...)
				sp, err = sec.Write(0, false, rec)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if i == 0 || pm.Start.IsZero() {
				pm.Start, pm.End = sp.Start, sp.Start.Add(sp.Length)
				if sp.Live {
					pm.End = now()
				}
			}
			pm.Points = append(pm.Points, rec.Points()...)
		}
		out = append(out, pm)
	}
	return out, errors.Join(errs...)
}
