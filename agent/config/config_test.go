package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/visorng/visor/agent/handler"
)

func TestCompatExample(t *testing.T) {
	data, err := os.ReadFile("testdata/compat_example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Taps) != 3 || len(doc.Policies) != 3 {
		t.Fatalf("taps %d policies %d", len(doc.Taps), len(doc.Policies))
	}
	lan := doc.Taps[0]
	if lan.Name != "lan_pcap" || lan.Tags["anycast"] != true || lan.Tags["site"] != "ams" {
		t.Fatalf("tap %+v", lan)
	}
	if doc.Options["periods"] != uint64(5) || doc.Options["admin_api"] != true {
		t.Fatalf("options %v", doc.Options)
	}
	if doc.GlobalHandlerConfig["dns"]["xact_ttl_ms"] != uint64(3000) {
		t.Fatalf("global %v", doc.GlobalHandlerConfig)
	}
	edge := doc.Policies[0]
	if edge.Input.Selector == nil || !edge.Input.Selector.All || edge.Input.Selector.Tags[0].Value != "ams" {
		t.Fatalf("selector %+v", edge.Input.Selector)
	}
	if edge.WindowConfig["deep_sample_rate"] != uint64(50) || edge.Chained {
		t.Fatalf("window %v", edge.WindowConfig)
	}
	q := edge.Modules[1]
	if q.ID != "queries" || q.Version != "2.0" || q.Config["public_suffix_list"] != true ||
		!slicesEqual(q.Filter["only_qname_suffix"].([]string), []string{".example.com"}) ||
		!slicesEqual(q.Enable, []string{"top_ecs", "top_size"}) {
		t.Fatalf("module %+v", q)
	}
	nx := doc.Policies[1]
	if !nx.Chained || len(nx.Modules) != 2 || nx.Modules[0].ID != "nx_only" || nx.Modules[1].Type != "net" {
		t.Fatalf("chained %+v", nx)
	}
	flows := doc.Policies[2]
	dm := flows.Modules[0].Config["device_map"].(handler.Config)
	if dm["192.0.2.1"].(handler.Config)["interfaces"].(handler.Config)["3"].(handler.Config)["name"] != "uplink" {
		t.Fatalf("nested %v", dm)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScalarTyping(t *testing.T) {
	doc, err := Parse([]byte(`visor:
  taps:
    t:
      input_type: pcap
      tags:
        a: 42
        b: TRUE
        c: "1.0"
        d: -1
        e: "007"
        f: [1, x]
        g: 99999999999999999999999
`))
	if err != nil {
		t.Fatal(err)
	}
	tags := doc.Taps[0].Tags
	want := map[string]any{"a": uint64(42), "b": true, "c": "1.0", "d": "-1", "e": uint64(7), "g": "99999999999999999999999"}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("%s = %#v, want %#v", k, tags[k], v)
		}
	}
	if !slicesEqual(tags["f"].([]string), []string{"1", "x"}) {
		t.Errorf("f = %#v", tags["f"])
	}
}

func TestErrors(t *testing.T) {
	pol := func(body string) string {
		return "visor:\n  policies:\n    p:\n" + body
	}
	cases := []struct{ doc, want string }{
		{"", "invalid schema"},
		{"visor: 1\n", "invalid schema (line 1, column 8)"},
		{"version: 2\nvisor: {}\n", "unsupported version (line 1, column 10)"},
		{"visor:\n  other: 1\n", "unknown key 'other'; valid keys are: config, taps, global_handler_config, policies (line 2, column 3)"},
		{"visor:\n  config:\n    nope: 1\n", "nope is an invalid/unsupported config option (line 3, column 5)"},
		{"visor:\n  global_handler_config: 1\n", "expecting global_handler_config configuration map"},
		{"visor:\n  taps:\n    t:\n      config: {}\n", "missing or invalid tap type key 'input_type' (line 3, column 5)"},
		{pol("      input: {tap: t, input_type: pcap}\n      handlers: {modules: {m: {type: net}}}\n"), "missing or invalid policy kind at key 'kind' (line 3, column 5)"},
		{pol("      kind: x\n"), "unknown policy kind: x (line 4, column 13)"},
		{pol("      kind: collection\n      config: 1\n"), "policy configuration is not a map"},
		{pol("      kind: collection\n      input: {input_type: pcap}\n      handlers: {modules: {m: {type: net}}}\n"), "missing key 'input.tap' or key 'input.tap_selector'"},
		{pol("      kind: collection\n      input: {tap: t, tap_selector: {any: [{a: b}]}, input_type: pcap}\n      handlers: {modules: {m: {type: net}}}\n"), "input can have only key 'input.tap' or key 'input.tap_selector'"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n"), "missing or invalid handler configuration at key 'handlers'"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {}\n"), "missing or invalid handler modules at key 'modules'"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {modules: {m: {config: {}}}}\n"), "missing or invalid stream handler type at key 'type'"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {modules: {m: {type: net, config: 1}}}\n"), "stream handler configuration is not a map"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {modules: {m: {type: net, filter: [1]}}}\n"), "stream handler filter configuration is not a map"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {modules: {m: {type: net, metric_groups: 1}}}\n"), "stream handler metric groups is not a map"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {modules: {m: {type: net, metric_groups: {on: [x]}}}}\n"), "stream handler metric groups should contain enable and/or disable tags"},
		{pol("      kind: collection\n      input: {tap: t, input_type: pcap}\n      handlers: {modules: [{m: {type: net}}, {m: {type: dns}}]}\n"), "module name 'm' already exists"},
		{"visor:\n  taps:\n    t: {input_type: pcap}\n    t: {input_type: pcap}\n", "duplicate key 't' (line 4, column 5)"},
		{"visor:\n  taps:\n    ../x: {input_type: pcap}\n", "invalid tap name '../x'"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %q", c.doc, err, c.want)
		}
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("%q: not a *config.Error: %T", c.doc, err)
		}
	}
}

func TestSequenceModuleForms(t *testing.T) {
	doc, err := Parse([]byte(`visor:
  policies:
    p:
      kind: collection
      input: {tap: t, input_type: pcap}
      handlers:
        modules:
          - a:
            type: dns
            filter: {only_rcode: [nxdomain]}
          - b:
              type: net
`))
	if err != nil {
		t.Fatal(err)
	}
	m := doc.Policies[0].Modules
	if !doc.Policies[0].Chained || m[0].Type != "dns" || m[0].Filter["only_rcode"] == nil || m[1].Type != "net" {
		t.Fatalf("%+v", m)
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/compat_example.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("visor:\n  taps:\n    t: {input_type: pcap, config: {a: [1]}}\n"))
	f.Add([]byte("a: &a [1]\nvisor: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		doc, err := Parse(data)
		if err == nil && doc == nil {
			t.Fatal("nil document without error")
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *config.Error: %T %v", err, err)
			}
		}
	})
}
