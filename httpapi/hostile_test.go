package httpapi

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHostileBodies(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{AdminAPI: true, MaxBody: 64 << 10})
	deep := "visor:\n  taps:\n    x:\n      input_type: pcap\n      config:\n"
	indent := "        "
	for i := 0; i < 100; i++ {
		deep += indent + fmt.Sprintf("k%d:\n", i)
		indent += "  "
	}
	deep += indent + "v: 1\n"
	cases := []struct {
		name, path, ctype, body string
		status                  int
		contains                string
	}{
		{"oversized", "/api/v1/policies", "application/x-yaml", "visor:\n  policies: {}\n#" + strings.Repeat("x", 70<<10), 413, "exceeds"},
		{"malformed yaml", "/api/v1/policies", "application/x-yaml", "visor: [unclosed", 400, "invalid YAML"},
		{"malformed json", "/api/v1/taps", "application/json", `{"visor": {"taps": `, 400, "invalid YAML"},
		{"not a map", "/api/v1/policies", "application/x-yaml", "- 1\n- 2\n", 400, "invalid schema"},
		{"wrong version", "/api/v1/policies", "application/x-yaml", "version: \"2.0\"\nvisor:\n  policies: {}\n", 400, "unsupported version"},
		{"unknown top key", "/api/v1/policies", "application/x-yaml", "visor:\n  polices: {}\n", 400, "unknown key 'polices'"},
		{"unknown policy key", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "kind: collection", "kind: collection\n      kidn: x", 1), 400, "unknown key 'kidn'"},
		{"unknown input key", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "input_type: pcap", "input_type: pcap\n        config:\n          ifcae: eth0", 1), 400, "ifcae is an invalid/unsupported config or filter"},
		{"unknown handler key", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "type: net", "type: net\n            config:\n              bogus: 1", 1), 400, "bogus is an invalid/unsupported config or filter"},
		{"bad metric group", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "type: net", "type: net\n            metric_groups:\n              enable: [nope]", 1), 400, "nope is an invalid/unsupported metric group"},
		{"deep nesting", "/api/v1/taps", "application/x-yaml", deep, 400, "nests deeper"},
		{"alias bomb", "/api/v1/taps", "application/x-yaml", "a: &a [1,2]\nvisor:\n  taps:\n    x:\n      input_type: pcap\n      config: *a\n", 400, ""},
		{"bad kind", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "kind: collection", "kind: other", 1), 400, "unknown policy kind: other"},
		{"missing handlers", "/api/v1/policies", "application/x-yaml", "visor:\n  policies:\n    p:\n      kind: collection\n      input:\n        tap: mock\n        input_type: pcap\n", 400, "missing or invalid handler configuration at key 'handlers'"},
		{"tap and selector", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "tap: mock", "tap: mock\n        tap_selector:\n          any:\n            - a: b", 1), 400, "input can have only key 'input.tap' or key 'input.tap_selector'"},
		{"type mismatch", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "input_type: pcap", "input_type: dnstap", 1), 400, "doesn't match tap's defined input type"},
		{"traversal name", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "live:", "../etc:", 1), 400, "invalid policy name"},
		{"two policies", "/api/v1/policies", "application/x-yaml", policyDNS + strings.Replace(policyDNS, "visor:\n  policies:\n    live:", "    live2:", 1), 400, "only a single policy expected but got 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", c.path, c.ctype, c.body)
			if r.status != c.status || !strings.Contains(string(r.body), c.contains) {
				t.Fatalf("got %d %s\nwant %d containing %q", r.status, r.body, c.status, c.contains)
			}
			if r.ctype != JSONContentType || !strings.Contains(string(r.body), `"error"`) {
				t.Fatalf("error body %q %s", r.ctype, r.body)
			}
		})
	}
	// Line and column name the offending key.
	r := e.do(t, "POST", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "kind: collection", "kind: collection\n      kidn: x", 1))
	if !strings.Contains(string(r.body), "(line 6, column 7)") {
		t.Fatalf("position missing: %s", r.body)
	}
	if len(e.agent.Policies()) != 2 {
		t.Fatalf("failed loads left policies behind: %d", len(e.agent.Policies()))
	}
}

func TestHostilePaths(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{AdminAPI: true})
	for _, p := range []string{
		"/api/v1/policies/..%2f..%2fetc%2fpasswd",
		"/api/v1/policies/%2e%2e",
		"/api/v1/taps/a%00b",
		"/api/v1/policies/default%20x/metrics/bucket/0",
		"/api/v1/policies/default/metrics/bucket/-1",
		"/api/v1/policies/default/metrics/bucket/99999999999999999999",
		"/api/v1/policies/1abc",
	} {
		if r := e.do(t, "GET", p, "", ""); r.status != 404 {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.do(t, "DELETE", "/api/v1/policies/..%2fdefault", "", ""); r.status != 404 {
		t.Errorf("DELETE traversal: %d", r.status)
	}
	if r := e.do(t, "DELETE", "/api/v1/policies/"+e.agent.Policies()[1].Name(), "", ""); r.status != 409 {
		t.Errorf("DELETE resources policy: %d", r.status)
	}
}

// TestRuntimeChangesWhileTrafficFlows adds and removes policies on the
// mock input while it generates packets, then checks the input stops with
// its last policy and nothing leaks over many cycles.
func TestRuntimeChangesWhileTrafficFlows(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{AdminAPI: true})
	e.ts.Client().CloseIdleConnections()
	before := runtime.NumGoroutine()
	var mem0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mem0)
	cycles := 2000
	if testing.Short() {
		cycles = 200
	}
	for i := 0; i < cycles; i++ {
		if r := e.do(t, "POST", "/api/v1/policies", "application/x-yaml", policyDNS); r.status != 201 {
			t.Fatalf("cycle %d create: %d %s", i, r.status, r.body)
		}
		if i == 0 {
			time.Sleep(300 * time.Millisecond)
			b := e.do(t, "GET", "/api/v1/policies/live/metrics/bucket/0", "", "").json(t)
			if path(t, b, "live", "live-mock-traffic", "packets", "total").(float64) == 0 {
				t.Fatal("no mock traffic reached the new policy")
			}
		}
		if r := e.do(t, "DELETE", "/api/v1/policies/live", "", ""); r.status != 200 {
			t.Fatalf("cycle %d delete: %d", i, r.status)
		}
	}
	for _, p := range e.agent.Policies() {
		if strings.HasPrefix(p.Name(), "mock-") {
			t.Fatalf("mock input's resources policy %s survived its last policy", p.Name())
		}
	}
	if infos := e.agent.InputInfos(); len(infos) != 1 {
		t.Fatalf("inputs left: %d", len(infos))
	}
	e.ts.Client().CloseIdleConnections()
	after := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			break
		}
	}
	if after > before {
		t.Fatalf("goroutines grew from %d to %d over %d cycles", before, after, cycles)
	}
	var mem1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mem1)
	if grow := int64(mem1.HeapAlloc) - int64(mem0.HeapAlloc); grow > 64<<20 {
		t.Fatalf("heap grew by %d MiB over %d cycles", grow>>20, cycles)
	}
}
