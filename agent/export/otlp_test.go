package export

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/visorng/visor/agent"
)

// otlpReceiver is a real OTLP/HTTP endpoint: it decodes each
// ExportMetricsServiceRequest with the OTLP protobuf definitions.
type otlpReceiver struct {
	mu   sync.Mutex
	reqs []*colmetricpb.ExportMetricsServiceRequest
	at   []time.Time
	path string
	got  chan struct{}
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf POST", http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	m := &colmetricpb.ExportMetricsServiceRequest{}
	if err := proto.Unmarshal(b, m); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, m)
	r.at = append(r.at, time.Now())
	r.path = req.URL.Path
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
	_, _ = w.Write(out)
}

func (r *otlpReceiver) wait(t *testing.T, n int) []*colmetricpb.ExportMetricsServiceRequest {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		if len(r.reqs) >= n {
			out := append([]*colmetricpb.ExportMetricsServiceRequest(nil), r.reqs...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("receiver got fewer than %d requests", n)
		}
	}
}

func hostPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(u.Port())
	return u.Hostname(), p
}

func attr(kvs []*commonpb.KeyValue, k string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value.GetStringValue(), true
		}
	}
	return "", false
}

func TestOTLPPushesPolicyScopesToReceiver(t *testing.T) {
	rcv := &otlpReceiver{got: make(chan struct{}, 1)}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	a := sampleAgent(t)
	ctx, cancel := context.WithCancel(context.Background())
	o, err := StartOTLP(ctx, OTLPConfig{
		Host: host, Port: port, Path: "/custom/v1/metrics", Interval: 150 * time.Millisecond,
		Resource: map[string]string{"host.name": "node-1"},
	}, &AgentSource{Agent: a})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rcv.wait(t, 3)
	cancel()
	o.Wait()
	if st := o.Stats(); st.Pushes < 2 || st.Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
	rcv.mu.Lock()
	path, at := rcv.path, append([]time.Time(nil), rcv.at...)
	rcv.mu.Unlock()
	if path != "/custom/v1/metrics" {
		t.Errorf("path %q", path)
	}
	// The interval is honoured (pktvisor always waits 60 s).
	if gap := at[2].Sub(at[1]); gap < 100*time.Millisecond || gap > 2*time.Second {
		t.Errorf("gap between pushes %v with a 150ms interval", gap)
	}
	rm := reqs[0].ResourceMetrics
	if len(rm) != 1 {
		t.Fatalf("%d resources", len(rm))
	}
	if v, _ := attr(rm[0].Resource.Attributes, "host.name"); v != "node-1" {
		t.Errorf("resource %v", rm[0].Resource.Attributes)
	}
	var scope *metricpb.ScopeMetrics
	for _, sm := range rm[0].ScopeMetrics {
		if sm.Scope.Name == "pktvisor/default" {
			scope = sm
		}
	}
	if scope == nil {
		t.Fatalf("no pktvisor/default scope")
	}
	if v, _ := attr(scope.Scope.Attributes, "policy_name"); v != "default" {
		t.Errorf("scope attributes %v", scope.Scope.Attributes)
	}
	byName := map[string]*metricpb.Metric{}
	for _, m := range scope.Metrics {
		byName[m.Name] = m
	}
	// The exported bucket is /metrics's: the most recent closed one.
	pol, _ := a.Policy("default")
	js, err := agent.PolicyJSON(pol, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	want := js["default-file-net"].(map[string]any)["packets"].(map[string]any)["total"].(uint64)
	total := byName["packets_total"].GetGauge()
	if total == nil || len(total.DataPoints) != 1 || total.DataPoints[0].GetAsDouble() != float64(want) || want == 0 {
		t.Fatalf("packets_total %v", byName["packets_total"])
	}
	dp := total.DataPoints[0]
	if _, ok := attr(dp.Attributes, "policy"); ok {
		t.Error("policy repeated on data points (the scope carries it)")
	}
	if h, _ := attr(dp.Attributes, "handler"); h != "default-file-net" {
		t.Errorf("handler attr %q", h)
	}
	if dp.StartTimeUnixNano == 0 || dp.TimeUnixNano <= dp.StartTimeUnixNano {
		t.Errorf("times %d..%d", dp.StartTimeUnixNano, dp.TimeUnixNano)
	}
	top := byName["packets_top_ipv4"].GetGauge()
	if top == nil || len(top.DataPoints) == 0 {
		t.Fatal("no top_ipv4 gauge")
	}
	if ip, _ := attr(top.DataPoints[0].Attributes, "ipv4"); ip == "" {
		t.Errorf("top row without item attribute: %v", top.DataPoints[0].Attributes)
	}
	sum := byName["dns_xact_out_quantiles_us"].GetSummary()
	if sum == nil || len(sum.DataPoints[0].QuantileValues) != 4 || sum.DataPoints[0].Count == 0 {
		t.Fatalf("summary %v", byName["dns_xact_out_quantiles_us"])
	}
}

func TestOTLPHistogramAndTLS(t *testing.T) {
	rcv := &otlpReceiver{got: make(chan struct{}, 1)}
	srv := httptest.NewTLSServer(rcv)
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o, err := StartOTLP(ctx, OTLPConfig{Host: host, Port: port, Interval: time.Hour, TLS: true,
		TLSConfig: &tls.Config{RootCAs: roots}}, fixedSource(literalSnapshot(t)))
	if err != nil {
		t.Fatal(err)
	}
	o.PushOnce(ctx)
	if st := o.Stats(); st.Pushes != 1 {
		t.Fatalf("stats %+v", st)
	}
	reqs := rcv.wait(t, 1)
	var hist *metricpb.Histogram
	for _, m := range reqs[0].ResourceMetrics[0].ScopeMetrics[0].Metrics {
		if m.Name == "dns_payload_size" {
			hist = m.GetHistogram()
		}
	}
	if hist == nil || hist.AggregationTemporality != metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Fatalf("histogram %v", hist)
	}
	d := hist.DataPoints[0]
	if len(d.ExplicitBounds) != 2 || len(d.BucketCounts) != 3 || d.BucketCounts[0] != 1 || d.BucketCounts[1] != 1 || d.BucketCounts[2] != 1 || d.Count != 3 || d.GetSum() != 555 {
		t.Fatalf("histogram point %v", d)
	}
}

func TestOTLPFailureIsCountedAndReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "nope", http.StatusBadRequest)
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	var got error
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o, err := StartOTLP(ctx, OTLPConfig{Host: host, Port: port, Interval: time.Hour, OnError: func(err error) { got = err }},
		fixedSource(literalSnapshot(t)))
	if err != nil {
		t.Fatal(err)
	}
	o.PushOnce(ctx)
	if st := o.Stats(); st.Failures != 1 || st.Pushes != 0 || got == nil {
		t.Fatalf("stats %+v err %v", st, got)
	}
	if _, err := StartOTLP(ctx, OTLPConfig{}, fixedSource(nil)); !errors.Is(err, ErrConfig) {
		t.Fatalf("zero interval: %v", err)
	}
}
