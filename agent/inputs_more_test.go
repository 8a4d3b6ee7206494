package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sharedFixture(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "fixtures", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("pktvisor fixture %s not found beside the repository: %v", name, err)
	}
	return p
}

func TestDnstapFilePolicy(t *testing.T) {
	a := New(Options{})
	defer a.Close()
	cfg := `
visor:
  taps:
    resolver:
      input_type: dnstap
      config:
        dnstap_file: ` + sharedFixture(t, "fixture.dnstap") + `
  policies:
    dt:
      kind: collection
      input:
        tap: resolver
        input_type: dnstap
      handlers:
        modules:
          dns:
            type: dns
`
	if _, err := a.ApplyYAML([]byte(cfg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitInputs(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := a.Policy("dt")
	// The messages span three minutes, so read the merged window.
	obj, err := PolicyJSON(p, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	wire := obj["dt-resolver-dns"].(map[string]any)["dns"].(map[string]any)["wire_packets"].(map[string]any)
	// The fixture holds 153 complete frames (see the fixtures README).
	if got := wire["total"].(uint64); got != 153 {
		t.Fatalf("dnstap messages counted = %d, want 153 (%v)", got, wire)
	}
}

func TestInputConfigErrors(t *testing.T) {
	cases := map[string]string{
		"input_type: dnstap\n      config:\n        socket_typo: x": "socket_typo is an invalid/unsupported config or filter",
		"input_type: dnstap\n      config:\n        tcp: nocolon":   "invalid tcp address specification, use HOST:PORT",
		"input_type: dnstap": "config must specify one of: socket, dnstap_file",
		"input_type: netprobe\n      config:\n        test_type: ping":                 "no targets specified",
		"input_type: netprobe\n      config:\n        targets: {a: {target: 1.1.1.1}}": "'test_type' config not specified",
	}
	for tapBody, want := range cases {
		a := New(Options{})
		cfg := "visor:\n  taps:\n    t:\n      " + tapBody + "\n  policies:\n    p:\n      kind: collection\n      input:\n        tap: t\n        input_type: " +
			strings.Fields(strings.TrimPrefix(tapBody, "input_type: "))[0] + "\n      handlers:\n        modules:\n          n:\n            type: net\n"
		_, err := a.ApplyYAML([]byte(cfg))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", tapBody, err, want)
		}
		a.Close()
	}
}

func TestNetprobeTCPPolicy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	a := New(Options{})
	defer a.Close()
	cfg := `
visor:
  taps:
    probe:
      input_type: netprobe
      config:
        test_type: tcp
        interval_msec: 200
        timeout_msec: 100
        targets:
          local:
            target: 127.0.0.1
            port: ` + itoa(port) + `
  policies:
    np:
      kind: collection
      input:
        tap: probe
        input_type: netprobe
      handlers:
        modules:
          probe:
            type: netprobe
`
	if _, err := a.ApplyYAML([]byte(cfg)); err != nil {
		t.Fatal(err)
	}
	p, _ := a.Policy("np")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		obj, err := PolicyJSON(p, 0, false)
		if err == nil {
			if n, ok := dig(obj, "np-probe-probe", "netprobe", "targets", "local", "successes").(uint64); ok && n >= 2 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	obj, _ := PolicyJSON(p, 0, false)
	t.Fatalf("no successful TCP probes within 10s: %v", obj)
}

func itoa(n int) string { return strconv.Itoa(n) }

// dig walks nested JSON maps, returning nil where a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
