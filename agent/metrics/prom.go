package metrics

import (
	"math"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/visorng/visor/sketches"
)

// Label is one Prometheus label pair.
type Label struct{ Key, Value string }

// Prom turns a bucket description into client_golang const metrics. It is
// built per scrape by a collector and hands each metric to emit.
//
// Differences from pktvisor, chosen deliberately: summaries carry the real
// sum of observations in _sum (pktvisor writes the maximum there, which
// breaks rate(_sum)/rate(_count)); histograms carry _sum too, as the format
// requires.
type Prom struct {
	emit   func(prometheus.Metric)
	labels []Label
	descs  map[string]*prometheus.Desc
	errs   *[]error
	helps  map[string]string
}

var _ Writer = (*Prom)(nil)

// NewProm returns a writer that emits metrics carrying labels (policy,
// handler, tap, instance). Errors building a metric are collected and
// reported by Errs rather than panicking a scrape.
func NewProm(emit func(prometheus.Metric), labels ...Label) *Prom {
	var errs []error
	return &Prom{emit: emit, labels: labels, descs: map[string]*prometheus.Desc{}, errs: &errs}
}

// ShareHelp makes every writer given the same map use the first HELP text
// seen for a family. A scrape that spans handlers (dns v1 and v2 in one
// policy, or several policies) then never fails on two texts for one name.
func (p *Prom) ShareHelp(helps map[string]string) *Prom {
	p.helps = helps
	return p
}

// Errs returns problems met while writing.
func (p *Prom) Errs() []error { return *p.errs }

func (p *Prom) desc(n Name, extra ...string) (*prometheus.Desc, []string) {
	names := make([]string, 0, len(p.labels)+len(extra))
	values := make([]string, 0, len(p.labels))
	for _, l := range p.labels {
		names = append(names, l.Key)
		values = append(values, l.Value)
	}
	names = append(names, extra...)
	key := n.Prom + "\x00" + strings.Join(names, "\x00")
	d, ok := p.descs[key]
	if !ok {
		help := n.Help
		if p.helps != nil {
			if h, seen := p.helps[n.Prom]; seen {
				help = h
			} else {
				p.helps[n.Prom] = help
			}
		}
		d = prometheus.NewDesc(n.Prom, help, names, nil)
		p.descs[key] = d
	}
	return d, values
}

func (p *Prom) add(m prometheus.Metric, err error) {
	if err != nil {
		*p.errs = append(*p.errs, err)
		return
	}
	p.emit(m)
}

func (p *Prom) gauge(n Name, v float64) {
	d, vals := p.desc(n)
	p.add(prometheus.NewConstMetric(d, prometheus.GaugeValue, v, vals...))
}

// Counter is exported as a gauge, as pktvisor does: values reset with each
// bucket rotation, so they are not monotonic counters.
func (p *Prom) Counter(n Name, v uint64)     { p.gauge(n, float64(v)) }
func (p *Prom) Cardinality(n Name, v uint64) { p.gauge(n, float64(v)) }

func (p *Prom) summary(n Name, q *sketches.Quantile) {
	qs := make(map[float64]float64, len(QuantileRanks))
	for _, r := range QuantileRanks {
		v := q.Quantile(r.Rank)
		if !n.Float {
			v = math.Round(v)
		}
		qs[r.Rank] = v
	}
	d, vals := p.desc(n)
	p.add(prometheus.NewConstSummary(d, q.Count(), q.Sum(), qs, vals...))
}

func (p *Prom) Quantile(n Name, q *sketches.Quantile) {
	if q == nil || q.Empty() {
		return
	}
	p.summary(n, q)
}

func (p *Prom) Rate(n Name, r *sketches.Rate, _ bool) {
	if r == nil || r.Quantiles().Empty() {
		return
	}
	p.summary(n, r.Quantiles())
}

func (p *Prom) Histogram(n Name, h *sketches.Histogram) {
	if h == nil || h.Count() == 0 {
		return
	}
	cum := h.Cumulative(nil)
	buckets := make(map[float64]uint64, len(cum))
	for i, b := range h.Bounds() {
		buckets[b] = cum[i]
	}
	d, vals := p.desc(n)
	p.add(prometheus.NewConstHistogram(d, h.Count(), h.Sum(), buckets, vals...))
}

func (p *Prom) TopN(n Name, label string, rows []Entry) {
	for _, r := range rows {
		if r.Lat != "" || r.Lon != "" {
			d, vals := p.desc(n, label, "lat", "lon")
			p.add(prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(r.Estimate), append(vals, r.Name, r.Lat, r.Lon)...))
			continue
		}
		d, vals := p.desc(n, label)
		p.add(prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(r.Estimate), append(vals, r.Name)...))
	}
}

func (p *Prom) Group(_, labelKey, labelValue string) Writer {
	if labelKey == "" {
		return p
	}
	labels := make([]Label, 0, len(p.labels)+1)
	replaced := false
	for _, l := range p.labels {
		if l.Key == labelKey {
			l.Value = labelValue
			replaced = true
		}
		labels = append(labels, l)
	}
	if !replaced {
		labels = append(labels, Label{labelKey, labelValue})
	}
	return &Prom{emit: p.emit, labels: labels, descs: p.descs, errs: p.errs, helps: p.helps}
}
