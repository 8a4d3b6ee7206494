package export

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// sampleAgent runs the real agent over test/testdata/sample.pcap with the
// net, dns and pcap handlers, so exports are checked on real metrics.
func sampleAgent(t *testing.T) *agent.Agent {
	t.Helper()
	pcap := filepath.Join(repoRoot(t), "test", "testdata", "sample.pcap")
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("sample capture missing: %v", err)
	}
	a := agent.New(agent.Options{})
	t.Cleanup(a.Close)
	_, err := a.ApplyYAML([]byte(`
visor:
  taps:
    file:
      input_type: pcap
      config:
        pcap_file: ` + pcap + `
        host_spec: 192.0.2.10/32,2001:db8::10/128
  policies:
    default:
      kind: collection
      input:
        tap: file
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
          dns:
            type: dns
          pcap_stats:
            type: pcap
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitInputs(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// fixedSource is a Source of literal points.
type fixedSource []PolicyMetrics

func (f fixedSource) Snapshot() ([]PolicyMetrics, error) { return f, nil }

func literalSnapshot(t *testing.T) []PolicyMetrics {
	t.Helper()
	rec := NewRecorder(metrics.Label{Key: "policy", Value: "edge"}, metrics.Label{Key: "handler", Value: "edge-dns"}, metrics.Label{Key: "tap", Value: "eth0"})
	rec.Counter(metrics.N("dns", "", "wire_packets", "total"), 42)
	rec.TopN(metrics.N("dns", "", "top_qname2"), "qname", []metrics.Entry{{Name: ".example.com", Estimate: 7}})
	rec.Group("in", "direction", "in").Cardinality(metrics.N("dns", "", "cardinality", "qname"), 3)
	q, err := sketches.NewQuantile(0.01)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		q.Add(float64(i))
	}
	rec.Quantile(metrics.N("dns", "", "xact_time_us"), q)
	h, err := sketches.NewHistogram([]float64{10, 100})
	if err != nil {
		t.Fatal(err)
	}
	h.Add(5)
	h.Add(50)
	h.Add(500)
	rec.Histogram(metrics.N("dns", "", "payload_size"), h)
	start := time.Unix(1700000000, 0)
	return []PolicyMetrics{{Policy: "edge", Start: start, End: start.Add(time.Minute), Points: rec.Points()}}
}

func TestToSeries(t *testing.T) {
	now := time.Unix(1700000100, 0)
	ss := ToSeries(literalSnapshot(t), []metrics.Label{{Key: "node", Value: "n1"}, {Key: "tap", Value: "override"}}, now)
	got := map[string]float64{}
	for _, s := range ss {
		var parts []string
		for i, l := range s.Labels {
			if i > 0 && s.Labels[i-1].Key >= l.Key {
				t.Fatalf("labels not sorted: %v", s.Labels)
			}
			parts = append(parts, l.Key+"="+l.Value)
		}
		if s.TimestampMs != now.UnixMilli() {
			t.Fatalf("timestamp %d", s.TimestampMs)
		}
		got[strings.Join(parts, ",")] = s.Value
	}
	base := "handler=edge-dns,node=n1,policy=edge,tap=override"
	for k, v := range map[string]float64{
		"__name__=dns_wire_packets_total," + base:                                                       42,
		"__name__=dns_top_qname2,handler=edge-dns,node=n1,policy=edge,qname=.example.com,tap=override":  7,
		"__name__=dns_cardinality_qname,direction=in,handler=edge-dns,node=n1,policy=edge,tap=override": 3,
		"__name__=dns_xact_time_us_count," + base:                                                       100,
		"__name__=dns_xact_time_us_sum," + base:                                                         5050,
		"__name__=dns_payload_size_bucket,handler=edge-dns,le=10,node=n1,policy=edge,tap=override":      1,
		"__name__=dns_payload_size_bucket,handler=edge-dns,le=100,node=n1,policy=edge,tap=override":     2,
		"__name__=dns_payload_size_bucket,handler=edge-dns,le=+Inf,node=n1,policy=edge,tap=override":    3,
		"__name__=dns_payload_size_count," + base:                                                       3,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got["__name__=dns_xact_time_us,handler=edge-dns,node=n1,policy=edge,quantile=0.5,tap=override"]; !ok {
		t.Errorf("no p50 series in %v", got)
	}
}

func TestAgentSourceMatchesPromNames(t *testing.T) {
	a := sampleAgent(t)
	snap, err := (&AgentSource{Agent: a, Instance: "node-1"}).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, pm := range snap {
		if pm.Policy != "default" {
			continue
		}
		if pm.Start.IsZero() || !pm.End.After(pm.Start) {
			t.Errorf("span %v..%v", pm.Start, pm.End)
		}
		for _, p := range pm.Points {
			names[p.Name] = true
			if p.Labels[0] != (metrics.Label{Key: "instance", Value: "node-1"}) {
				t.Fatalf("labels %v", p.Labels)
			}
		}
	}
	for _, n := range []string{"packets_total", "packets_top_ipv4", "dns_wire_packets_total", "dns_xact_out_quantiles_us", "dns_top_qname2", "pcap_os_drops"} {
		if !names[n] {
			t.Errorf("snapshot lacks %s", n)
		}
	}
}
