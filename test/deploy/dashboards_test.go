package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

type dashboard struct {
	file  string
	UID   string `json:"uid"`
	Title string `json:"title"`
	exprs []string
}

// loadDashboards reads every provisioned dashboard and its PromQL.
func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob(deployPath(t, "grafana/dashboards/*.json"))
	if err != nil || len(files) < 4 {
		t.Fatalf("dashboards: %v %v", files, err)
	}
	var out []dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d.file = filepath.Base(f)
		var raw any
		_ = json.Unmarshal(b, &raw)
		walkExprs(raw, &d.exprs)
		out = append(out, d)
	}
	return out
}

func walkExprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "expr" || k == "definition") {
				*out = append(*out, s)
				continue
			}
			walkExprs(e, out)
		}
	case []any:
		for _, e := range x {
			walkExprs(e, out)
		}
	}
}

// Dashboards write every selector as name{...}, so this finds them all.
var selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// synthesized are series Prometheus makes itself, not the agent.
var synthesized = map[string]bool{"up": true}

func TestDashboardsAreWellFormed(t *testing.T) {
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		if d.UID == "" || d.Title == "" || len(d.exprs) == 0 {
			t.Errorf("%s: uid %q title %q, %d expressions", d.file, d.UID, d.Title, len(d.exprs))
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", d.file, other, d.UID)
		}
		uids[d.UID] = d.file
		for _, e := range d.exprs {
			if strings.Count(e, "(") != strings.Count(e, ")") || strings.Count(e, "{") != strings.Count(e, "}") {
				t.Errorf("%s: unbalanced %q", d.file, e)
			}
			if len(selectorRE.FindAllString(e, -1)) == 0 {
				t.Errorf("%s: %q selects no metric with braces", d.file, e)
			}
		}
	}
	want := []string{"agent-health.json", "dns.json", "flow.json", "net.json"}
	var got []string
	for _, f := range uids {
		got = append(got, f)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("dashboards %v, want %v", got, want)
	}
}

// Every metric a dashboard queries is in a real /metrics output: the
// agent's over the sample capture (net, dns, pcap, resources) and the flow
// handler's (no flow input reads captures yet).
func TestDashboardMetricsExist(t *testing.T) {
	base := sampleAgent(t)
	names := seriesNames(httpGet(t, base+"/api/v1/policies/__all/metrics/prometheus"))
	for n := range seriesNames(httpGet(t, base+"/metrics")) {
		names[n] = true // the agent's own export counters
	}
	for n := range seriesNames(flowExposition(t)) {
		names[n] = true
	}
	if !names["packets_total"] || !names["resources_cpu_usage"] || !names["flow_in_bytes"] {
		t.Fatalf("exposition incomplete: %d names", len(names))
	}
	for _, d := range loadDashboards(t) {
		for _, e := range d.exprs {
			for _, m := range selectorRE.FindAllStringSubmatch(e, -1) {
				if !names[m[1]] && !synthesized[m[1]] {
					t.Errorf("%s: %s is not exported by the agent (in %q)", d.file, m[1], e)
				}
			}
		}
	}
}

// A real Prometheus scrapes the agent; every non-flow dashboard query must
// parse and return data, so label names, quantile values and aggregations
// are right too, not only the metric names.
func TestDashboardQueriesAgainstPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus)")
	}
	base := sampleAgent(t)
	target := strings.TrimPrefix(base, "http://")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pktvisord
    metrics_path: /api/v1/policies/__all/metrics/prometheus
    static_configs:
      - targets: [%q]
  - job_name: pktvisord-default
    static_configs:
      - targets: [%q]
`, target, target))
	promAddr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	prom := "http://" + promAddr
	deadline := time.Now().Add(30 * time.Second)
	// Two scrapes at least, so increase() and rate() have two samples.
	for {
		if r, err := promQuery(prom, "count_over_time(pktvisor_remote_write_sent_series_total[1m]) > 1"); err == nil && len(r) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never scraped the agent")
		}
		time.Sleep(200 * time.Millisecond)
	}
	vars := strings.NewReplacer("$instance", ".*", "$policy", ".*", "$device", ".*")
	for _, d := range loadDashboards(t) {
		if d.file == "flow.json" {
			continue
		}
		for _, e := range d.exprs {
			q := vars.Replace(e)
			if strings.HasPrefix(q, "label_values(") {
				// label_values(m{...}, l) is Grafana's; check the selector.
				q = strings.TrimPrefix(q, "label_values(")
				q = q[:strings.LastIndex(q, ",")]
			}
			r, err := promQuery(prom, q)
			if err != nil {
				t.Errorf("%s: %q: %v", d.file, q, err)
				continue
			}
			if len(r) == 0 {
				t.Errorf("%s: %q returns nothing", d.file, q)
			}
		}
	}
}

func promQuery(base, q string) ([]json.RawMessage, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	return r.Data.Result, nil
}
