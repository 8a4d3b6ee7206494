package httpapi

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/metrics"
)

// collector builds const metrics from the handlers' buckets at scrape
// time. It is unchecked (Describe sends nothing): the families depend on
// which policies exist at the moment of the scrape. client_golang's Gather
// groups every series of a name into one family, so HELP/TYPE appear once
// even when many policies export the same metric.
type collector struct {
	agent    *agent.Agent
	instance string
	// defaultOnly selects the "default" policy without handler labels
	// (/metrics); otherwise policies are listed and carry handler labels.
	defaultOnly bool
	policies    []*agent.Policy
}

func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	policies := c.policies
	if c.defaultOnly {
		p, ok := c.agent.Policy("default")
		if !ok {
			return
		}
		policies = []*agent.Policy{p}
	}
	emit := func(m prometheus.Metric) { ch <- m }
	helps := map[string]string{}
	for _, p := range policies {
		for _, s := range p.Sections() {
			labels := make([]metrics.Label, 0, 4)
			if c.instance != "" {
				labels = append(labels, metrics.Label{Key: "instance", Value: c.instance})
			}
			labels = append(labels, metrics.Label{Key: "policy", Value: p.Name()})
			if !c.defaultOnly {
				labels = append(labels, metrics.Label{Key: "handler", Value: s.Name})
			}
			labels = append(labels, metrics.Label{Key: "tap", Value: p.Tap()})
			w := metrics.NewProm(emit, labels...).ShareHelp(helps)
			if err := s.WriteProm(w); err != nil {
				ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("pktvisor_error", "scrape error", nil, nil),
					fmt.Errorf("policy %s handler %s: %w", p.Name(), s.Name, err))
				continue
			}
			for _, err := range w.Errs() {
				ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("pktvisor_error", "scrape error", nil, nil), err)
			}
		}
	}
}

func (s *Server) defaultProm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.opts.Agent.Policy("default"); !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	promhttp.HandlerFor(s.promReg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

func (s *Server) policyProm(w http.ResponseWriter, r *http.Request) {
	n, ok := name(w, r)
	if !ok {
		return
	}
	var policies []*agent.Policy
	if n == allPolicies {
		policies = s.opts.Agent.Policies()
	} else {
		p, ok := s.opts.Agent.Policy(n)
		if !ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("policy does not exists"))
			return
		}
		policies = []*agent.Policy{p}
	}
	// A registry per request: the policy set is the request's, and the
	// collector holds no state between scrapes.
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{agent: s.opts.Agent, instance: s.opts.PromInstance, policies: policies})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
