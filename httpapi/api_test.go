package httpapi

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

const policyDNS = `
visor:
  policies:
    live:
      kind: collection
      input:
        tap: mock
        input_type: pcap
      handlers:
        window_config:
          num_periods: 2
        modules:
          traffic:
            type: net
`

func TestRoutes(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{AdminAPI: true})
	cases := []struct {
		method, path, ctype, body string
		status                    int
		contains                  string
	}{
		{"GET", "/api/v1/metrics/app", "", "", 200, `"version":"4.0.0-test"`},
		{"GET", "/api/v1/metrics/rates", "", "", 200, `deprecated`},
		{"GET", "/api/v1/metrics/bucket/0", "", "", 200, `"1m"`},
		{"GET", "/api/v1/metrics/bucket/1", "", "", 200, `"start_ts"`},
		{"GET", "/api/v1/metrics/bucket/9", "", "", 500, `invalid metrics period, specify [0, 4]`},
		{"GET", "/api/v1/metrics/bucket/x", "", "", 404, ``},
		{"GET", "/api/v1/metrics/window/3", "", "", 200, `"3m"`},
		{"GET", "/api/v1/metrics/window/1", "", "", 500, `invalid metrics period, specify [2, 5]`},
		{"GET", "/metrics", "", "", 200, `packets_total{policy="default",tap="file"}`},
		{"GET", "/api/v1/taps", "", "", 200, `"mock"`},
		{"GET", "/api/v1/taps/file", "", "", 200, `"input_type":"pcap"`},
		{"GET", "/api/v1/taps/nope", "", "", 404, `tap does not exists`},
		{"GET", "/api/v1/policies", "", "", 200, `-resources"`},
		{"GET", "/api/v1/policies/default", "", "", 200, `"default-file-net"`},
		{"GET", "/api/v1/policies/nope", "", "", 404, `policy does not exists`},
		{"GET", "/api/v1/policies/default/metrics/bucket/0", "", "", 200, `"default-file-pcap_stats"`},
		{"GET", "/api/v1/policies/default/metrics/bucket/5", "", "", 425, `invalid metrics period, specify [0, 4]`},
		{"GET", "/api/v1/policies/default/metrics/window/5", "", "", 200, `"packets"`},
		{"GET", "/api/v1/policies/default/metrics/window/6", "", "", 425, `invalid metrics period, specify [2, 5]`},
		{"GET", "/api/v1/policies/nope/metrics/window/5", "", "", 404, `policy does not exist`},
		{"GET", "/api/v1/policies/__all/metrics/bucket/0", "", "", 200, `"default"`},
		{"GET", "/api/v1/policies/__all/metrics/window/2", "", "", 200, `"default"`},
		{"GET", "/api/v1/policies/__all/metrics/bucket/7", "", "", 200, `{}`},
		{"GET", "/api/v1/policies/default/metrics/prometheus", "", "", 200, `handler="default-file-net"`},
		{"GET", "/api/v1/policies/__all/metrics/prometheus", "", "", 200, `resources_policy_count`},
		{"GET", "/api/v1/policies/nope/metrics/prometheus", "", "", 404, `policy does not exists`},
		{"POST", "/api/v1/policies", "", policyDNS, 400, `must include Content-Type header`},
		{"POST", "/api/v1/policies", "text/plain", policyDNS, 400, `Content-Type not supported`},
		{"POST", "/api/v1/policies", "application/x-yaml", policyDNS, 201, `"live-mock-traffic"`},
		{"POST", "/api/v1/policies", "application/x-yaml", policyDNS, 409, `policy with name 'live' already defined`},
		{"GET", "/api/v1/policies/live/metrics/bucket/0", "", "", 200, `"live-mock-traffic"`},
		{"DELETE", "/api/v1/policies/live", "", "", 200, `{}`},
		{"DELETE", "/api/v1/policies/live", "", "", 404, `policy does not exists`},
		{"POST", "/api/v1/taps", "application/json", `{"visor":{"taps":{"t2":{"input_type":"pcap","config":{"pcap_source":"mock"}}}}}`, 201, `"t2"`},
		{"POST", "/api/v1/taps", "application/json", `{"visor":{"taps":{"t2":{"input_type":"pcap"}}}}`, 409, `already defined`},
		{"POST", "/api/v1/taps", "application/x-yaml", "visor:\n  taps: {}\n", 400, `only a single tap expected but got 0`},
		{"POST", "/api/v1/taps", "application/x-yaml", "visor:\n  taps:\n    x:\n      input_type: nosuch\n", 400, `requires input stream type 'nosuch'`},
		{"DELETE", "/api/v1/taps/t2", "", "", 200, `{}`},
		{"DELETE", "/api/v1/taps/t2", "", "", 404, `tap does not exists`},
		{"POST", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "tap: mock", "tap_selector:\n          all:\n            - site: moon", 1), 422, `no tap match found`},
		{"POST", "/api/v1/policies", "application/x-yaml", strings.Replace(policyDNS, "tap: mock", "tap_selector:\n          any:\n            - virtual: false", 1), 201, `"live-mock-traffic"`},
		{"DELETE", "/api/v1/policies/live", "", "", 200, `{}`},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%02d %s %s", i, c.method, c.path), func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.ctype, c.body)
			if r.status != c.status || !strings.Contains(string(r.body), c.contains) {
				t.Fatalf("got %d %s\nwant %d containing %q", r.status, r.body, c.status, c.contains)
			}
			if strings.HasPrefix(c.path, "/api/v1/") && !strings.HasSuffix(c.path, "prometheus") && len(r.body) > 0 && r.status != 404 || r.status == 425 {
				if r.ctype != JSONContentType {
					t.Fatalf("content type %q", r.ctype)
				}
			}
		})
	}
}

func TestNoAdminRoutes(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{})
	for _, c := range [][2]string{{"POST", "/api/v1/policies"}, {"DELETE", "/api/v1/policies/default"},
		{"POST", "/api/v1/taps"}, {"DELETE", "/api/v1/server"}} {
		if r := e.do(t, c[0], c[1], "application/x-yaml", policyDNS); r.status != 404 {
			t.Errorf("%s %s without admin API: %d", c[0], c[1], r.status)
		}
	}
	if _, ok := e.agent.Policy("default"); !ok {
		t.Fatal("default policy removed without admin API")
	}
}

func TestAdminToken(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{AdminAPI: true, AdminToken: "s3cret"})
	if r := e.do(t, "POST", "/api/v1/policies", "application/x-yaml", policyDNS); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	if r := e.do(t, "POST", "/api/v1/policies", "application/x-yaml", policyDNS, "Authorization", "Bearer wrong"); r.status != 401 {
		t.Fatalf("wrong token: %d", r.status)
	}
	if r := e.do(t, "POST", "/api/v1/policies", "application/x-yaml", policyDNS, "Authorization", "Bearer s3cret"); r.status != 201 {
		t.Fatalf("good token: %d %s", r.status, r.body)
	}
	// Reads need no token.
	if r := e.do(t, "GET", "/api/v1/policies/live", "", ""); r.status != 200 {
		t.Fatalf("read: %d", r.status)
	}
}

func TestDeleteServer(t *testing.T) {
	done := make(chan struct{})
	e := newEnv(t, "", Options{AdminAPI: true, Shutdown: func() { close(done) }})
	if r := e.do(t, "DELETE", "/api/v1/server", "", ""); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	<-done
}

func TestCheckAdminExposure(t *testing.T) {
	cases := []struct {
		host                        string
		admin, tls, token, insecure bool
		ok                          bool
	}{
		{"localhost", true, false, false, false, true},
		{"127.0.0.1", true, false, false, false, true},
		{"::1", true, false, false, false, true},
		{"0.0.0.0", true, false, false, false, false},
		{"0.0.0.0", true, true, false, false, false},
		{"0.0.0.0", true, true, true, false, true},
		{"192.0.2.1", true, false, false, true, true},
		{"0.0.0.0", false, false, false, false, true},
		{"example.com", true, false, true, false, false},
	}
	for _, c := range cases {
		err := CheckAdminExposure(c.host, c.admin, c.tls, c.token, c.insecure)
		if (err == nil) != c.ok {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// shape replaces values by their JSON type and keeps one element of each
// list, so goldens pin the structure pktvisor clients parse without
// depending on the numbers the handlers compute.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shape(e)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0])}
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func TestGoldenShapes(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{})
	for _, c := range []struct{ path, golden string }{
		{"/api/v1/metrics/bucket/1", "legacy_bucket_1.json"},
		{"/api/v1/metrics/window/5", "legacy_window_5.json"},
		{"/api/v1/policies/default/metrics/bucket/0", "policy_bucket_0.json"},
		{"/api/v1/policies/default/metrics/window/5", "policy_window_5.json"},
	} {
		r := e.do(t, "GET", c.path, "", "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
		got, err := json.MarshalIndent(shape(r.json(t)), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		file := filepath.Join("testdata", c.golden)
		if *update {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: shape differs from %s (run with -update after checking):\n%s", c.path, file, got)
		}
	}
}

// TestClientCompat checks the exact fields Telegraf's seed config and
// pktvisor-cli read.
func TestClientCompat(t *testing.T) {
	e := newEnv(t, baseConfig(t), Options{})
	b := e.do(t, "GET", "/api/v1/metrics/bucket/1", "", "").json(t)
	if _, ok := path(t, b, "1m", "packets", "period", "start_ts").(float64); !ok {
		t.Fatal("1m.packets.period.start_ts is not a number")
	}
	if _, ok := path(t, b, "1m", "period", "length").(float64); !ok {
		t.Fatal("1m.period.length is not a number")
	}
	path(t, b, "1m", "pcap", "os_drops")
	w := e.do(t, "GET", "/api/v1/policies/default/metrics/window/5", "", "").json(t)
	for _, k := range []string{"total", "udp", "tcp", "in", "out", "deep_samples"} {
		path(t, w, "default", "default-file-net", "packets", k)
	}
	path(t, w, "default", "default-file-net", "packets", "rates", "pps_total", "p50")
	path(t, w, "default", "default-file-pcap_stats", "pcap", "tcp_reassembly_errors")
	// pktvisor-cli steps its window down on 425 using the range in the
	// error text.
	r := e.do(t, "GET", "/api/v1/policies/default/metrics/window/9", "", "")
	if r.status != 425 || !strings.Contains(string(r.body), "invalid metrics period, specify [2, 5]") {
		t.Fatalf("425 form: %d %s", r.status, r.body)
	}
	app := e.do(t, "GET", "/api/v1/metrics/app", "", "").json(t)
	path(t, app, "app", "up_time_min")
	inputs := path(t, app, "inputs").(map[string]any)
	if len(inputs) == 0 {
		t.Fatal("no inputs in app metrics")
	}
	for _, in := range inputs {
		if p := path(t, in, "capture", "path"); p != "pcap_file" && p != "mock" {
			t.Fatalf("capture path %v", p)
		}
	}
	pol := e.do(t, "GET", "/api/v1/policies/default", "", "").json(t)
	periods := path(t, pol, "default", "modules", "default-file-net", "metrics", "periods").([]any)
	if len(periods) == 0 {
		t.Fatal("no periods in handler info")
	}
	path(t, periods[0], "start_tstamp")
	path(t, periods[0], "events", "events")
}
