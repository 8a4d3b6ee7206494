package httpapi

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const twoPolicies = `
    second:
      kind: collection
      input:
        tap: file
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
`

// TestOneFamilyAcrossPolicies: pktvisor broke Telegraf twice by repeating
// HELP/TYPE per policy; the text must hold each family once.
func TestOneFamilyAcrossPolicies(t *testing.T) {
	e := newEnv(t, baseConfig(t)+twoPolicies, Options{PromInstance: "edge-01"})
	r := e.do(t, "GET", "/api/v1/policies/__all/metrics/prometheus", "", "")
	if r.status != 200 || !strings.HasPrefix(r.ctype, "text/plain") {
		t.Fatalf("%d %s", r.status, r.ctype)
	}
	help := map[string]int{}
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			help[strings.Fields(line)[2]]++
		}
	}
	for name, n := range help {
		if n != 1 {
			t.Errorf("family %s has %d TYPE lines", name, n)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	total, ok := fams["packets_total"]
	if !ok {
		t.Fatal("packets_total missing")
	}
	policies := map[string]bool{}
	for _, m := range total.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["instance"] != "edge-01" || labels["tap"] != "file" || labels["handler"] == "" {
			t.Errorf("labels %v", labels)
		}
		policies[labels["policy"]] = true
	}
	if !policies["default"] || !policies["second"] {
		t.Fatalf("policies in packets_total: %v", policies)
	}
}

func TestCollectAndLint(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{})
	problems, err := testutil.CollectAndLint(&collector{agent: e.agent, defaultOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// pktvisor's names carry no unit suffix and its counters are
		// gauges; those are compatibility, not mistakes.
		if strings.Contains(p.Text, "counter metrics should have") || strings.Contains(p.Text, "non-counter metrics should not have") ||
			strings.Contains(p.Text, "should have a unit") || strings.Contains(p.Text, "_total suffix") {
			continue
		}
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(&collector{agent: e.agent, defaultOnly: true}); n < 10 {
		t.Fatalf("only %d series", n)
	}
}

func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	e := newEnv(t, baseConfig(t)+twoPolicies, Options{PromInstance: "i1"})
	for _, p := range []string{"/metrics", "/api/v1/policies/__all/metrics/prometheus"} {
		r := e.do(t, "GET", p, "", "")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(r.body)
		out, err := cmd.CombinedOutput()
		if err == nil {
			continue
		}
		// promtool exits non-zero for lint warnings too; fail only on
		// problems other than pktvisor's naming conventions.
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" || strings.Contains(line, "_total suffix") || strings.Contains(line, "should have a unit") ||
				strings.Contains(line, "counter metrics should") ||
				// pktvisor's resources_policy_count / handler_count names.
				strings.Contains(line, `should not have "_count" suffix`) {
				continue
			}
			t.Errorf("%s: promtool: %s", p, line)
		}
	}
}

func TestDefaultPromHasNoHandlerLabel(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{})
	r := e.do(t, "GET", "/metrics", "", "")
	if r.status != 200 || strings.Contains(string(r.body), `handler="`) {
		t.Fatalf("%d handler label present", r.status)
	}
	empty := newEnv(t, "", Options{})
	if r := empty.do(t, "GET", "/metrics", "", ""); r.status != 404 || len(r.body) != 0 {
		t.Fatalf("no default policy: %d %q", r.status, r.body)
	}
}
