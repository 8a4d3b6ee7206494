//go:build linux

package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/netprobehandler"
	"github.com/visorng/visor/agent/input/netprobe"
)

// The probe runs in a child process started with `ip netns exec`, so every
// socket it opens, on whatever thread, is in the prober namespace.
const childEnv = "VISOR_LIVE_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "netprobe":
		os.Exit(netprobeChild(os.Getenv("VISOR_LIVE_CONFIG")))
	case "listen":
		ln, err := net.Listen("tcp", os.Getenv("VISOR_LIVE_ADDR"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	}
	os.Exit(m.Run())
}

func netprobeChild(cfgJSON string) int {
	var raw map[string]any
	if err := json.Unmarshal([]byte(cfgJSON), &raw); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	runFor := time.Duration(raw["run_ms"].(float64)) * time.Millisecond
	delete(raw, "run_ms")
	cfg, err := netprobe.ParseConfig(toConfig(raw))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	in, err := netprobe.New(cfg, netprobe.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := netprobehandler.New("live", handler.Config{"num_periods": uint64(1), "enable": []any{"quantiles"}}, handler.Env{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	in.Attach(h)
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	_ = in.Run(ctx)
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	obj["info"] = in.Info()
	_ = json.NewEncoder(os.Stdout).Encode(obj)
	return 0
}

// toConfig turns decoded JSON into handler.Config with uint64 numbers.
func toConfig(m map[string]any) handler.Config {
	c := handler.Config{}
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			c[k] = toConfig(x)
		case float64:
			c[k] = uint64(x)
		default:
			c[k] = v
		}
	}
	return c
}

type targetStats struct {
	Attempts  uint64 `json:"attempts"`
	Successes uint64 `json:"successes"`
	ConnFail  uint64 `json:"connect_failures"`
	DNSFail   uint64 `json:"dns_lookup_failures"`
	Timeouts  uint64 `json:"packets_timeout"`
	MinUS     uint64 `json:"response_min_us"`
	MaxUS     uint64 `json:"response_max_us"`
	Histogram any    `json:"response_histogram_us"`
	Quantiles any    `json:"response_quantiles_us"`
}

func runProbe(t *testing.T, ns string, cfg map[string]any) map[string]targetStats {
	t.Helper()
	b, _ := json.Marshal(cfg)
	cmd := inNS(ns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=netprobe", "VISOR_LIVE_CONFIG="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe child: %v", err)
	}
	var doc struct {
		Targets map[string]targetStats `json:"targets"`
		Info    map[string]any         `json:"info"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("info %v", doc.Info)
	return doc.Targets
}

// TestNetprobe probes, from namespace A: B's address (answers), an address
// with no host on the link (unreachable), an address routed to B that B
// drops (timeouts), a TCP port B listens on and one it does not.
func TestNetprobe(t *testing.T) {
	requireRoot(t)
	a, b := netns(t, "pa"), netns(t, "pb")
	veth(t, a, "eth0", b, "eth0")
	sh(t, "ip", "-n", a, "addr", "add", "10.77.0.1/24", "dev", "eth0")
	sh(t, "ip", "-n", b, "addr", "add", "10.77.0.2/24", "dev", "eth0")
	sh(t, "ip", "-n", a, "addr", "add", "fd77::1/64", "dev", "eth0", "nodad")
	sh(t, "ip", "-n", b, "addr", "add", "fd77::2/64", "dev", "eth0", "nodad")
	// B has forwarding off, so what A routes through it for 10.77.5.0/24 is
	// silently dropped: replies never come, probes time out.
	sh(t, "ip", "-n", a, "route", "add", "10.77.5.0/24", "via", "10.77.0.2")
	start(t, b, []string{childEnv + "=listen", "VISOR_LIVE_ADDR=10.77.0.2:8179"}, os.Args[0], "-test.run=^$")
	time.Sleep(200 * time.Millisecond) // let the listener bind

	for _, mode := range []struct{ name, pingRange string }{{"ping-socket", "0 2147483647"}, {"raw-socket", "1 0"}} {
		t.Run(mode.name, func(t *testing.T) {
			sh(t, "ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv4.ping_group_range="+mode.pingRange)
			got := runProbe(t, a, map[string]any{
				"test_type": "ping", "interval_msec": 300, "timeout_msec": 250, "packets_per_test": 2,
				"packets_interval_msec": 10, "run_ms": 1400,
				"targets": map[string]any{
					"up":      map[string]any{"target": "10.77.0.2"},
					"up6":     map[string]any{"target": "fd77::2"},
					"nohost":  map[string]any{"target": "10.77.0.99"},
					"dropped": map[string]any{"target": "10.77.5.5"},
				},
			})
			for _, name := range []string{"up", "up6"} {
				s := got[name]
				if s.Attempts < 6 || s.Successes != s.Attempts || s.Timeouts != 0 || s.Histogram == nil || s.Quantiles == nil || s.MaxUS < s.MinUS {
					t.Errorf("%s: %+v", name, s)
				}
			}
			for _, name := range []string{"nohost", "dropped"} {
				s := got[name]
				// The last round may still be waiting for its timeout when the
				// run ends.
				if s.Attempts < 6 || s.Successes != 0 || s.Timeouts+s.ConnFail < s.Attempts-2 || s.Timeouts == 0 {
					t.Errorf("%s: %+v", name, s)
				}
			}
			t.Logf("%+v", got)
		})
	}
	t.Run("tcp", func(t *testing.T) {
		got := runProbe(t, a, map[string]any{
			"test_type": "tcp", "interval_msec": 300, "timeout_msec": 250, "run_ms": 1400,
			"targets": map[string]any{
				"open":    map[string]any{"target": "10.77.0.2", "port": 8179},
				"refused": map[string]any{"target": "10.77.0.2", "port": 8180},
				"dropped": map[string]any{"target": "10.77.5.5", "port": 8179},
			},
		})
		if s := got["open"]; s.Attempts < 4 || s.Successes != s.Attempts {
			t.Errorf("open: %+v", s)
		}
		if s := got["refused"]; s.Attempts < 4 || s.ConnFail != s.Attempts || s.Successes != 0 {
			t.Errorf("refused: %+v", s)
		}
		if s := got["dropped"]; s.Attempts < 3 || s.Successes != 0 || s.Timeouts < s.Attempts-1 {
			t.Errorf("dropped: %+v", s)
		}
		t.Logf("%+v", got)
	})
}
