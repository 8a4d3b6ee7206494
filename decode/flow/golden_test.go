package flow_test

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/decode/flow"
)

var update = flag.Bool("update", false, "regenerate goldens with test/truth/flow.py (needs tshark)")

// repoRoot walks up from the package directory to the one holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func fixtures(t testing.TB) string {
	t.Helper()
	d := filepath.Join(repoRoot(t), "..", "shared", "fixtures")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared fixtures absent (%s): %v", d, err)
	}
	return d
}

// datagram is one UDP payload from a capture and who sent it.
type datagram struct {
	src  netip.Addr
	ts   time.Time
	data []byte
}

func readDatagrams(t testing.TB, path string) []datagram {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []datagram
	var f capture.Frame
	var p decode.Packet
	for {
		if err := r.Next(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		if decode.Decode(f.LinkType, f.Data, &p) != nil || p.L4 != decode.L4UDP {
			continue
		}
		out = append(out, datagram{src: p.Src, ts: f.Timestamp, data: append([]byte(nil), p.Payload...)})
	}
}

type goldenRecord struct {
	Device     string  `json:"device"`
	Src        *string `json:"src"`
	Dst        *string `json:"dst"`
	SrcPort    uint16  `json:"src_port"`
	DstPort    uint16  `json:"dst_port"`
	Proto      uint8   `json:"proto"`
	TOS        *uint8  `json:"tos"`
	Bytes      uint64  `json:"bytes"`
	Packets    uint64  `json:"packets"`
	SampleRate uint32  `json:"sample_rate"`
	InIf       *uint32 `json:"in_if"`
	OutIf      *uint32 `json:"out_if"`
}

type golden struct {
	Capture   string         `json:"capture"`
	Proto     string         `json:"proto"`
	Datagrams int            `json:"datagrams"`
	Records   []goldenRecord `json:"records"`
}

var fixtureCases = []struct {
	name  string
	proto string
	port  string
}{
	{"nf1", "netflow", "2055"},
	{"nf5", "netflow", "2055"},
	{"nf7", "netflow", "2055"},
	{"nf9", "netflow", "2055"},
	{"ipfix", "netflow", "2059"},
	{"sflow_ipv6", "sflow", "6343"},
	{"sflow_keyed", "sflow", "6343"},
}

// decodeAll runs a fresh decoder over a capture as the flow input would.
func decodeAll(t testing.TB, proto string, dgs []datagram) ([]flow.Record, []flow.Info) {
	t.Helper()
	d := flow.NewDecoder(nil)
	var all []flow.Record
	var infos []flow.Info
	var buf []flow.Record
	for i, dg := range dgs {
		var info flow.Info
		var err error
		if proto == "sflow" {
			buf, info, err = d.DecodeSFlow(dg.data, buf)
		} else {
			buf, info, err = d.DecodeNetFlow(dg.src, dg.ts, dg.data, buf)
		}
		if err != nil {
			t.Fatalf("datagram %d: %v", i+1, err)
		}
		all = append(all, buf...)
		infos = append(infos, info)
	}
	return all, infos
}

func TestFixturesMatchTshark(t *testing.T) {
	fx := fixtures(t)
	root := repoRoot(t)
	for _, c := range fixtureCases {
		t.Run(c.name, func(t *testing.T) {
			gpath := filepath.Join(root, "test", "testdata", "golden", "flow", c.name+".json")
			if *update {
				if _, err := exec.LookPath("tshark"); err != nil {
					t.Skip("tshark absent: cannot regenerate")
				}
				cmd := exec.Command("python3", filepath.Join(root, "test", "truth", "flow.py"),
					"--capture", filepath.Join(fx, c.name+".pcap"), "--proto", c.proto, "--port", c.port, "--out", gpath)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("flow.py: %v\n%s", err, out)
				}
			}
			raw, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			dgs := readDatagrams(t, filepath.Join(fx, c.name+".pcap"))
			if len(dgs) != g.Datagrams {
				t.Fatalf("datagrams: got %d, tshark %d", len(dgs), g.Datagrams)
			}
			recs, _ := decodeAll(t, c.proto, dgs)
			if len(recs) != len(g.Records) {
				t.Fatalf("records: got %d, tshark %d", len(recs), len(g.Records))
			}
			for i, w := range g.Records {
				r := recs[i]
				check := func(what string, got, want any) {
					t.Helper()
					if got != want {
						t.Errorf("record %d %s: got %v, tshark %v", i, what, got, want)
					}
				}
				check("device", r.Device.String(), w.Device)
				if w.Src != nil {
					check("src", r.Src.String(), *w.Src)
					check("dst", r.Dst.String(), *w.Dst)
				} else {
					check("src valid", r.Src.IsValid(), false)
				}
				check("src_port", r.SrcPort, w.SrcPort)
				check("dst_port", r.DstPort, w.DstPort)
				check("proto", r.Proto, w.Proto)
				if w.TOS != nil {
					check("tos", r.TOS, *w.TOS)
				}
				check("bytes", r.Bytes, w.Bytes)
				check("packets", r.Packets, w.Packets)
				check("sample_rate", r.SampleRate, w.SampleRate)
				check("has in_if", r.HasInIf, w.InIf != nil)
				if w.InIf != nil {
					check("in_if", r.InIf, *w.InIf)
				}
				check("has out_if", r.HasOutIf, w.OutIf != nil)
				if w.OutIf != nil {
					check("out_if", r.OutIf, *w.OutIf)
				}
			}
		})
	}
}
