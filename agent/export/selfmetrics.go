package export

import "github.com/prometheus/client_golang/prometheus"

// The exporters observe themselves: their counters are Prometheus
// collectors the agent registers next to /metrics, so a receiver that
// drops or falls behind shows up in the node's own scrape.

var (
	rwSentDesc    = prometheus.NewDesc("pktvisor_remote_write_sent_series_total", "Series accepted by the remote-write receiver.", nil, nil)
	rwDroppedDesc = prometheus.NewDesc("pktvisor_remote_write_dropped_series_total", "Series dropped: queue full or batch given up after retries.", nil, nil)
	rwFailedDesc  = prometheus.NewDesc("pktvisor_remote_write_failed_requests_total", "Remote-write requests that failed (each retry counts).", nil, nil)
	rwRetryDesc   = prometheus.NewDesc("pktvisor_remote_write_retries_total", "Remote-write request retries.", nil, nil)
	rwQueuedDesc  = prometheus.NewDesc("pktvisor_remote_write_queued_series", "Series waiting in the remote-write queue.", nil, nil)
	otlpPushDesc  = prometheus.NewDesc("pktvisor_otlp_pushes_total", "Successful OTLP pushes.", nil, nil)
	otlpFailDesc  = prometheus.NewDesc("pktvisor_otlp_failed_pushes_total", "Failed OTLP pushes.", nil, nil)
)

var _ prometheus.Collector = (*RemoteWriter)(nil)

// Describe implements prometheus.Collector.
func (rw *RemoteWriter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rwSentDesc, rwDroppedDesc, rwFailedDesc, rwRetryDesc, rwQueuedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (rw *RemoteWriter) Collect(ch chan<- prometheus.Metric) {
	st := rw.Stats()
	ch <- prometheus.MustNewConstMetric(rwSentDesc, prometheus.CounterValue, float64(st.Sent))
	ch <- prometheus.MustNewConstMetric(rwDroppedDesc, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(rwFailedDesc, prometheus.CounterValue, float64(st.Failed))
	ch <- prometheus.MustNewConstMetric(rwRetryDesc, prometheus.CounterValue, float64(st.Retries))
	ch <- prometheus.MustNewConstMetric(rwQueuedDesc, prometheus.GaugeValue, float64(st.Queued))
}

var _ prometheus.Collector = (*OTLP)(nil)

// Describe implements prometheus.Collector.
func (o *OTLP) Describe(ch chan<- *prometheus.Desc) {
	ch <- otlpPushDesc
	ch <- otlpFailDesc
}

// Collect implements prometheus.Collector.
func (o *OTLP) Collect(ch chan<- prometheus.Metric) {
	st := o.Stats()
	ch <- prometheus.MustNewConstMetric(otlpPushDesc, prometheus.CounterValue, float64(st.Pushes))
	ch <- prometheus.MustNewConstMetric(otlpFailDesc, prometheus.CounterValue, float64(st.Failures))
}
