package dnshandler_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golden is what test/truth/dns.py derives from tshark.
type golden struct {
	Capture          string                       `json:"capture"`
	HostSpec         string                       `json:"host_spec"`
	Counts           map[string]uint64            `json:"counts"`
	Xact             map[string]uint64            `json:"xact"`
	XactV2           map[string]map[string]uint64 `json:"xact_v2"`
	CardinalityQname uint64                       `json:"cardinality_qname"`
	Tops             map[string]map[string]int    `json:"tops"`
	Fragmented       int                          `json:"fragmented"`
}

func repoRoot(t testing.TB) string {
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

func num(v any) uint64 {
	f, _ := v.(float64)
	return uint64(f)
}

func path(obj map[string]any, keys ...string) any {
	var cur any = obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// checkTop verifies every reported row against the exact counts: a
// Space-Saving estimate is at least the true count and overestimates by at
// most total/capacity (exact while fewer keys than the capacity).
func checkTop(t *testing.T, what string, rows any, truth map[string]int) {
	t.Helper()
	list, _ := rows.([]any)
	var total int
	for _, n := range truth {
		total += n
	}
	slack := uint64(total / 1024)
	if len(list) == 0 && len(truth) > 0 {
		t.Errorf("%s: empty, want %d keys", what, len(truth))
	}
	for _, r := range list {
		row := r.(map[string]any)
		name := row["name"].(string)
		est := num(row["estimate"])
		want := uint64(truth[name])
		if est < want || est > want+slack {
			t.Errorf("%s %q: estimate %d, true %d (slack %d)", what, name, est, want, slack)
		}
	}
	if len(truth) <= 10 && len(list) != len(truth) {
		t.Errorf("%s: %d rows, want all %d keys %v", what, len(list), len(truth), truth)
	}
}

func TestGoldens(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "test", "testdata", "golden", "dns", "*.json"))
	if len(files) == 0 {
		t.Skip("no dns goldens (run test/truth/make-dns-goldens.sh)")
	}
	for _, f := range files {
		var g golden
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(g.Capture, ".pcap"), func(t *testing.T) {
			capture := filepath.Join(root, "test", "testdata", g.Capture)
			if g.Capture != "sample.pcap" {
				capture = fixture(t, g.Capture)
			} else if _, err := os.Stat(capture); err != nil {
				t.Skip("sample.pcap not generated yet")
			}
			v1, v2 := runPcap(t, capture, g.HostSpec, nil)
			s := section(t, v1)
			for k, want := range g.Counts {
				got := num(path(s, "wire_packets", k))
				// ECS and answers live at the end of a message; in a
				// fragmented datagram they are in fragments we do not
				// reassemble (see dns.py), so nodata may differ by those.
				if k == "nodata" && g.Fragmented > 0 {
					if d := math.Abs(float64(got) - float64(want)); d > float64(g.Fragmented) {
						t.Errorf("wire_packets.%s = %d, want %d ± %d fragmented", k, got, want, g.Fragmented)
					}
					continue
				}
				if got != want {
					t.Errorf("wire_packets.%s = %d, want %d", k, got, want)
				}
			}
			for k, want := range map[string]uint64{"total": g.Xact["total"], "timed_out": g.Xact["timed_out"]} {
				if got := num(path(s, "xact", "counts", k)); got != want {
					t.Errorf("xact.counts.%s = %d, want %d", k, got, want)
				}
			}
			for _, d := range []string{"in", "out"} {
				if got := num(path(s, "xact", d, "total")); got != g.Xact[d] {
					t.Errorf("xact.%s.total = %d, want %d", d, got, g.Xact[d])
				}
			}
			card := float64(num(path(s, "cardinality", "qname")))
			if want := float64(g.CardinalityQname); math.Abs(card-want) > 0.02*want+1 {
				t.Errorf("cardinality.qname = %v, want %v ± 2%%", card, want)
			}
			for key, truth := range map[string]string{
				"top_qtype": "qtype", "top_rcode": "rcode", "top_qname2": "qname2", "top_qname3": "qname3",
				"top_nxdomain": "nxdomain", "top_refused": "refused", "top_srvfail": "srvfail", "top_nodata": "nodata",
				"top_udp_ports": "udp_ports",
			} {
				if key == "top_nodata" && g.Fragmented > 0 {
					continue
				}
				checkTop(t, key, s[key], g.Tops[truth])
			}

			// v2 pairs per transaction direction (loopback captures, where
			// both ends are the host, leave every reply an orphan, as in
			// pktvisor).
			s2 := section(t, v2)
			for _, d := range []string{"in", "out", "unknown"} {
				for k, key := range map[string]string{"xacts": "xacts", "orphans": "orphan_responses", "timeouts": "timeout_queries"} {
					if got, want := num(path(s2, d, key)), g.XactV2[d][k]; got != want {
						t.Errorf("v2 %s.%s = %d, want %d", d, key, got, want)
					}
				}
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(s["wire_packets"], "", " ")
				fmt.Println(string(b))
			}
		})
	}
}
