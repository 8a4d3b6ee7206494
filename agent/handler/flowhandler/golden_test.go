package flowhandler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/flowhandler"
	"github.com/visorng/visor/agent/input/flowinput"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("go.mod not found")
		}
		dir = p
	}
}

// flowGolden is the part of test/testdata/golden/flow/*.json (written by
// test/truth/flow.py from tshark's dissection) the handler must reproduce.
type flowGolden struct {
	Totals map[string]struct {
		Records    uint64 `json:"records"`
		Interfaces map[string]struct {
			InBytes    uint64 `json:"in_bytes"`
			InPackets  uint64 `json:"in_packets"`
			OutBytes   uint64 `json:"out_bytes"`
			OutPackets uint64 `json:"out_packets"`
		} `json:"interfaces"`
	} `json:"totals"`
}

// TestGoldenTotals feeds each fixture through the flow input into the flow
// handler and compares its per-device record counts and per-interface in/out
// bytes and packets (sFlow scaled by the sampling rate) with tshark's.
func TestGoldenTotals(t *testing.T) {
	root := repoRoot(t)
	fx := filepath.Join(root, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		t.Skipf("shared fixtures absent (%s)", fx)
	}
	for _, c := range []struct {
		name string
		typ  flowinput.Type
	}{
		{"nf1", flowinput.TypeNetFlow}, {"nf5", flowinput.TypeNetFlow}, {"nf7", flowinput.TypeNetFlow},
		{"nf9", flowinput.TypeNetFlow}, {"ipfix", flowinput.TypeNetFlow},
		{"sflow_ipv6", flowinput.TypeSFlow}, {"sflow_keyed", flowinput.TypeSFlow},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, "test", "testdata", "golden", "flow", c.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var g flowGolden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			h, err := flowhandler.New("golden-flow", handler.Config{"recorded_stream": true, "num_periods": 1}, handler.Env{})
			if err != nil {
				t.Fatal(err)
			}
			src, err := pcapfile.Open(filepath.Join(fx, c.name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			in := flowinput.New(c.typ, nil)
			in.Attach(h.(handler.FlowConsumer))
			fh := h.(*flowhandler.Handler)
			fs, err := in.ReadSource(context.Background(), src, fh.StartAt)
			if err != nil {
				t.Fatal(err)
			}
			fh.EndAt(fs.Last.Add(time.Second))
			obj, err := handler.SectionJSON(h, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if testing.Verbose() {
				b, _ := json.Marshal(obj)
				t.Logf("%.400s", b)
			}
			devices, _ := dig(obj, "devices").(map[string]any)
			if len(devices) != len(g.Totals) {
				t.Fatalf("devices: got %v, tshark %d", keys(devices), len(g.Totals))
			}
			for dev, want := range g.Totals {
				d, _ := devices[dev].(map[string]any)
				if d == nil {
					t.Fatalf("device %s missing; have %v", dev, keys(devices))
				}
				eq(t, dev+" records_flows", d["records_flows"], want.Records)
				ifs, _ := d["interfaces"].(map[string]any)
				if len(ifs) != len(want.Interfaces) {
					t.Errorf("%s interfaces: got %v, tshark %d", dev, keys(ifs), len(want.Interfaces))
				}
				for idx, w := range want.Interfaces {
					i, _ := ifs[idx].(map[string]any)
					if i == nil {
						t.Errorf("%s interface %s missing", dev, idx)
						continue
					}
					p := dev + "|" + idx + " "
					eq(t, p+"in_bytes", i["in_bytes"], w.InBytes)
					eq(t, p+"in_packets", i["in_packets"], w.InPackets)
					eq(t, p+"out_bytes", i["out_bytes"], w.OutBytes)
					eq(t, p+"out_packets", i["out_packets"], w.OutPackets)
				}
			}
		})
	}
}

// dig finds key in obj, looking through one level of schema wrapping.
func dig(obj map[string]any, key string) any {
	if v, ok := obj[key]; ok {
		return v
	}
	for _, v := range obj {
		if m, ok := v.(map[string]any); ok {
			if x := dig(m, key); x != nil {
				return x
			}
		}
	}
	return nil
}

func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	return k
}

// eq compares a JSON number with want; a counter absent from the JSON
// stands for zero.
func eq(t *testing.T, what string, got any, want uint64) {
	t.Helper()
	if got == nil && want == 0 {
		return
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, tshark %d", what, got, want)
	}
}
