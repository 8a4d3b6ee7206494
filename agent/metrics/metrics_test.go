package metrics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/visorng/visor/sketches"
)

// describe writes one of every metric kind, the way a handler would.
//
// Rate samples are the complete seconds 0..3 (counts 0, 1, 2, 3); quantile
// values carry DDSketch's 1% relative error.
func describe(w Writer) {
	q, _ := sketches.NewQuantile(0.01)
	for i := 1; i <= 100; i++ {
		q.Add(float64(i))
	}
	r := sketches.NewRate()
	base := time.Unix(1000, 0)
	for s := 0; s < 5; s++ {
		r.Add(base.Add(time.Duration(s)*time.Second), uint64(s))
	}
	h, _ := sketches.NewHistogram([]float64{1, 10, 100})
	h.Add(5)
	h.Add(50)
	w.Counter(N("dns", "queries seen", "wire_packets", "queries"), 7)
	w.Cardinality(N("dns", "distinct names", "cardinality", "qname"), 3)
	w.Quantile(N("dns", "latency", "xact", "in", "quantiles_us"), q)
	w.Rate(N("dns", "rate", "rates", "total"), r, true)
	w.Histogram(N("dns", "latency histogram", "xact", "in", "histogram_us"), h)
	w.TopN(N("dns", "top names", "top_qname2"), "qname", []Entry{{Name: ".example.com", Estimate: 5}})
	w.TopN(N("dns", "top geo", "top_geoLoc_ecs"), "geo_loc", []Entry{{Name: "EU/Sweden", Estimate: 2, Lat: "60.000000", Lon: "18.000000"}})
	d := w.Group("in", "direction", "in")
	d.Counter(N("net", "packets", "total_packets"), 11)
}

func TestJSONShape(t *testing.T) {
	j := NewJSON(nil)
	describe(j)
	b, err := json.Marshal(j.Object())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cardinality":{"qname":3},"in":{"total_packets":11},"rates":{"total":{"live":3,"p50":1,"p90":3,"p95":3,"p99":3}},` +
		`"top_geoLoc_ecs":[{"estimate":2,"lat":"60.000000","lon":"18.000000","name":"EU/Sweden"}],"top_qname2":[{"estimate":5,"name":".example.com"}],` +
		`"wire_packets":{"queries":7},"xact":{"in":{"histogram_us":{"buckets":{"+Inf":2,"10":1,"100":2}},"quantiles_us":{"p50":50,"p90":90,"p95":94,"p99":100}}}}`
	if string(b) != want {
		t.Fatalf("json\n got %s\nwant %s", b, want)
	}
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestPromLintsAndNames(t *testing.T) {
	c := collectorFunc(func(ch chan<- prometheus.Metric) {
		p := NewProm(func(m prometheus.Metric) { ch <- m }, Label{"policy", "default"}, Label{"tap", "t"})
		describe(p)
		if errs := p.Errs(); len(errs) > 0 {
			t.Errorf("errors: %v", errs)
		}
	})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// pktvisor's family names are part of the compatibility contract
		// (dashboards query them), so the linter's naming advice on them
		// (_total on gauges, camelCase, "histogram" in a name) is accepted.
		if strings.Contains(p.Text, `"_total" suffix`) || strings.Contains(p.Text, "camelCase") || strings.Contains(p.Text, "include type") ||
			strings.Contains(p.Text, "abbreviated units") {
			continue
		}
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	// 2 gauges + summary + rate summary + histogram + 2 topN rows + grouped counter.
	if n != 8 {
		t.Fatalf("gathered %d series, want 8", n)
	}
	exp := `# HELP net_total_packets packets
# TYPE net_total_packets gauge
net_total_packets{direction="in",policy="default",tap="t"} 11
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(exp), "net_total_packets"); err != nil {
		t.Fatal(err)
	}
}

func TestFormatBound(t *testing.T) {
	for v, want := range map[float64]string{10: "10", 0.5: "0.500000", 1e6: "1000000"} {
		if got := FormatBound(v); got != want {
			t.Errorf("FormatBound(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestShareHelpAcrossWriters(t *testing.T) {
	c := collectorFunc(func(ch chan<- prometheus.Metric) {
		helps := map[string]string{}
		emit := func(m prometheus.Metric) { ch <- m }
		// dns v1 and v2 in one policy describe one family with two texts.
		NewProm(emit, Label{"handler", "v1"}).ShareHelp(helps).Cardinality(N("dns", "text one", "cardinality", "qname"), 1)
		NewProm(emit, Label{"handler", "v2"}).ShareHelp(helps).Cardinality(N("dns", "text two", "cardinality", "qname"), 2)
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather with shared help: %v", err)
	}
}
