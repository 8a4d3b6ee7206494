package bgphandler

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
)

var writeSynth = flag.Bool("write-synth", false, "rewrite test/testdata/golden/bgp/synth.pcap")

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

// Run feeds a capture through the reader's path (pcap file → PacketInput
// with its TCP reassembly → handler) and returns the wire_packets section.
func Run(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	src, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in, err := input.NewPacketInput(src, input.PacketOptions{Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New("golden-bgp", handler.Config{"recorded_stream": true, "num_periods": uint64(1)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	in.Attach(h)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return wirePackets(t, h)
}

func wirePackets(t *testing.T, h handler.Handler) map[string]uint64 {
	t.Helper()
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obj["wire_packets"])
	var m map[string]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGoldens(t *testing.T) {
	root := repoRoot(t)
	cases := map[string]string{"synth.json": filepath.Join(root, "test", "testdata", "golden", "bgp", "synth.pcap")}
	fixtures := filepath.Join(root, "..", "shared", "fixtures")
	if _, err := os.Stat(fixtures); err == nil {
		cases["bgp.json"] = filepath.Join(fixtures, "bgp.pcap")
	} else {
		t.Logf("fixtures absent (%v): only the synthesized capture is checked", err)
	}
	for name, pcap := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, "test", "testdata", "golden", "bgp", name))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				BGP struct {
					WirePackets map[string]uint64 `json:"wire_packets"`
				} `json:"bgp"`
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if got := Run(t, pcap); !reflect.DeepEqual(got, want.BGP.WirePackets) {
				t.Errorf("wire_packets\n got %v\nwant %v", got, want.BGP.WirePackets)
			}
		})
	}
}

func msg(typ byte, body int) []byte {
	b := bytes.Repeat([]byte{0xff}, 16)
	l := 19 + body
	b = append(b, byte(l>>8), byte(l), typ)
	return append(b, make([]byte, body)...)
}

func cat(ms ...[]byte) []byte { return bytes.Join(ms, nil) }

type seg struct {
	fromClient bool
	flags      string // S, SA, A, F...
	data       []byte
}

// session turns segments into Ethernet/IPv4/TCP frames with consistent
// sequence numbers.
func session(t testing.TB, segs []seg) [][]byte {
	cmac, smac := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	cip, sip := net.IPv4(10, 1, 1, 1).To4(), net.IPv4(10, 1, 1, 2).To4()
	seq := [2]uint32{1000, 5000} // client, server
	var out [][]byte
	for _, s := range segs {
		me, peer := 0, 1
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: Port, Window: 65535}
		if !s.fromClient {
			me, peer = 1, 0
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = sip, cip
			tcp.SrcPort, tcp.DstPort = Port, 40000
		}
		tcp.Seq, tcp.Ack = seq[me], seq[peer]
		tcp.SYN = strings.Contains(s.flags, "S")
		tcp.FIN = strings.Contains(s.flags, "F")
		tcp.ACK = strings.Contains(s.flags, "A")
		_ = tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(s.data)); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
		seq[me] += uint32(len(s.data))
		if tcp.SYN || tcp.FIN {
			seq[me]++
		}
	}
	return out
}

// synthSegs is a session with what the fixture lacks: several messages in
// one segment, one message split over three segments, NOTIFICATION and
// ROUTE-REFRESH.
func synthSegs() []seg {
	upd := msg(2, 60)
	return []seg{
		{true, "S", nil}, {false, "SA", nil}, {true, "A", nil},
		{true, "A", msg(1, 10)},
		{false, "A", cat(msg(1, 10), msg(4, 0))},
		{true, "A", cat(msg(4, 0), msg(2, 30), msg(2, 4), msg(5, 4))},
		{false, "A", upd[:7]},
		{false, "A", upd[7:40]},
		{false, "A", cat(upd[40:], msg(4, 0))},
		{true, "A", msg(3, 2)},
		{true, "FA", nil}, {false, "FA", nil}, {true, "A", nil},
	}
}

func TestWriteSynth(t *testing.T) {
	if !*writeSynth {
		t.Skip("run with -write-synth to regenerate the synthesized capture")
	}
	f, err := os.Create(filepath.Join(repoRoot(t), "test", "testdata", "golden", "bgp", "synth.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for _, fr := range session(t, synthSegs()) {
		ts = ts.Add(10 * time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(fr), Length: len(fr)}, fr); err != nil {
			t.Fatal(err)
		}
	}
}

func newHandler(t testing.TB) *Handler {
	h, err := New("t", handler.Config{"num_periods": uint64(1)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return h.(*Handler)
}

func TestConfig(t *testing.T) {
	_, err := New("x", handler.Config{"xact_ttl_ms": uint64(1)}, handler.Env{})
	if err == nil || !strings.HasPrefix(err.Error(), "xact_ttl_ms is an invalid/unsupported config or filter. The valid configs/filters are: recorded_stream, deep_sample_rate") {
		t.Fatalf("err = %v", err)
	}
}

func data(conn uint64, fromA bool, b []byte) *handler.TCPData {
	a, z := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	d := &handler.TCPData{Conn: conn, Src: a, Dst: z, SrcPort: 40000, DstPort: Port, Data: b, Timestamp: time.Unix(1700000000, 0)}
	if !fromA {
		d.Src, d.Dst, d.SrcPort, d.DstPort = z, a, Port, 40000
	}
	return d
}

func TestSidesAndGarbage(t *testing.T) {
	h := newHandler(t)
	// A half-sent header on one side must not merge with the other side.
	k := msg(4, 0)
	h.TCPData(data(1, true, k[:10]))
	h.TCPData(data(1, false, k[:5]))
	h.TCPData(data(1, true, k[10:]))
	h.TCPData(data(1, false, k[5:]))
	// Garbage stops counting one direction of one connection only.
	h.TCPData(data(2, true, []byte("not bgp at all, not bgp at all")))
	h.TCPData(data(2, true, k))
	h.TCPData(data(2, false, k))
	h.TCPData(data(3, true, cat(k, msg(9, 3))))
	s := h.Stats()
	if s.Messages != 5 || s.BadStreams != 1 || s.UnknownType != 1 {
		t.Fatalf("stats %+v", s)
	}
	h.TCPClose(1, time.Time{})
	h.TCPClose(2, time.Time{})
	h.TCPClose(3, time.Time{})
	if len(h.conns) != 0 {
		t.Fatalf("%d conns left", len(h.conns))
	}
	if got := wirePackets(t, h); got["total"] != 5 || got["keepalive"] != 4 {
		t.Fatalf("wire_packets %v", got)
	}
}

func TestConnBound(t *testing.T) {
	h := newHandler(t)
	for i := uint64(0); i < MaxConns+5; i++ {
		h.TCPData(data(i, true, msg(4, 0)))
	}
	if s := h.Stats(); s.ConnsDropped != 5 || len(h.conns) != MaxConns {
		t.Fatalf("stats %+v conns %d", s, len(h.conns))
	}
}

func TestAllocs(t *testing.T) {
	h := newHandler(t)
	d1 := data(1, true, cat(msg(2, 40), msg(4, 0), msg(2, 10)[:25]))
	d2 := data(1, true, msg(2, 10)[25:])
	h.TCPData(d1)
	h.TCPData(d2)
	if n := testing.AllocsPerRun(200, func() { h.TCPData(d1); h.TCPData(d2) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkTCPData(b *testing.B) {
	h := newHandler(b)
	d := data(1, true, cat(msg(2, 60), msg(4, 0)))
	b.ReportAllocs()
	for b.Loop() {
		h.TCPData(d)
	}
}
