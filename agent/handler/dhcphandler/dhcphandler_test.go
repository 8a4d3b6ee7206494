package dhcphandler

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"net"
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
	"github.com/visorng/visor/decode"
)

var writeSynth = flag.Bool("write-synth", false, "rewrite the synthesized capture test/testdata/golden/dhcp/synth.pcap")

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

// golden is what test/truth/dhcp.py writes.
type golden struct {
	DHCP struct {
		WirePackets map[string]uint64 `json:"wire_packets"`
		TopClients  []row             `json:"top_clients"`
		TopServers  []row             `json:"top_servers"`
	} `json:"dhcp"`
}

type row struct {
	Name     string `json:"name"`
	Estimate uint64 `json:"estimate"`
}

func run(t *testing.T, path string) *Handler {
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
	h, err := New("golden-dhcp", handler.Config{"recorded_stream": true, "num_periods": uint64(1)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	in.Attach(h)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h.(*Handler)
}

func TestGoldens(t *testing.T) {
	root := repoRoot(t)
	fixtures := filepath.Join(root, "..", "shared", "fixtures")
	cases := map[string]string{
		"synth.json": filepath.Join(root, "test", "testdata", "golden", "dhcp", "synth.pcap"),
	}
	if _, err := os.Stat(fixtures); err == nil {
		cases["dhcp-flow.json"] = filepath.Join(fixtures, "dhcp-flow.pcap")
		cases["dhcpv6.json"] = filepath.Join(fixtures, "dhcpv6.pcap")
	} else {
		t.Logf("fixtures absent (%v): only the synthesized capture is checked", err)
	}
	for name, pcap := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, "test", "testdata", "golden", "dhcp", name))
			if err != nil {
				t.Fatal(err)
			}
			var want golden
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			h := run(t, pcap)
			obj, err := handler.SectionJSON(h, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(obj)
			var got golden
			if err := json.Unmarshal(append(append([]byte(`{"dhcp":`), b...), '}'), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.DHCP.WirePackets, want.DHCP.WirePackets) {
				t.Errorf("wire_packets\n got %v\nwant %v", got.DHCP.WirePackets, want.DHCP.WirePackets)
			}
			if !sameRows(got.DHCP.TopClients, want.DHCP.TopClients) {
				t.Errorf("top_clients\n got %v\nwant %v", got.DHCP.TopClients, want.DHCP.TopClients)
			}
			if !sameRows(got.DHCP.TopServers, want.DHCP.TopServers) {
				t.Errorf("top_servers\n got %v\nwant %v", got.DHCP.TopServers, want.DHCP.TopServers)
			}
		})
	}
}

// sameRows compares top lists exactly, except that rows with equal
// estimates may come in any order (ties are documented as unordered).
func sameRows(got, want []row) bool {
	if len(got) != len(want) {
		return false
	}
	m := map[row]int{}
	for i := range got {
		if got[i].Estimate != want[i].Estimate {
			return false
		}
		m[got[i]]++
		m[want[i]]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// Frame building for the synthesized capture, unit tests and benchmarks.

var (
	serverMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	clientMAC = [6]byte{0x02, 0, 0, 0, 0, 0x99}
)

func v4payload(typ uint8, xid uint32, yiaddr [4]byte, chaddr [6]byte, host string, serverID bool) []byte {
	b := make([]byte, 236)
	b[0], b[1], b[2] = 1, 1, 6
	if typ == 2 || typ == 5 {
		b[0] = 2
	}
	binary.BigEndian.PutUint32(b[4:], xid)
	copy(b[16:], yiaddr[:])
	copy(b[28:], chaddr[:])
	b = binary.BigEndian.AppendUint32(b, 0x63825363)
	b = append(b, 53, 1, typ)
	if host != "" {
		b = append(b, 12, byte(len(host)))
		b = append(b, host...)
	}
	if serverID {
		b = append(b, 54, 4, 10, 0, 0, 1)
	}
	return append(b, 255)
}

func v6payload(typ uint8, xid uint32, serverID bool) []byte {
	b := []byte{typ, byte(xid >> 16), byte(xid >> 8), byte(xid), 0, 1, 0, 4, 0, 3, 0, 1}
	if serverID {
		b = append(b, 0, 2, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1)
	}
	return b
}

func frame(t testing.TB, src net.HardwareAddr, v6 bool, sport, dport uint16, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeIPv4}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	var l3 gopacket.SerializableLayer
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 1, NextHeader: layers.IPProtocolUDP,
			SrcIP: net.ParseIP("fe80::1"), DstIP: net.ParseIP("ff02::1:2")}
		_ = udp.SetNetworkLayerForChecksum(ip)
		l3 = ip
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IPv4(10, 0, 0, 1).To4(), DstIP: net.IPv4(255, 255, 255, 255).To4()}
		_ = udp.SetNetworkLayerForChecksum(ip)
		l3 = ip
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, l3, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// synthFrames is an exchange with the cases the fixtures lack: an ACK after
// the TTL, a REQUEST without host name, an ACK without yiaddr, a NAK, a
// truncated message, DHCPv6 without server id, and a repeated client.
func synthFrames(t testing.TB) [][]byte {
	c := net.HardwareAddr(clientMAC[:])
	ip := [4]byte{10, 0, 0, 50}
	return [][]byte{
		frame(t, c, false, 68, 67, v4payload(1, 1, [4]byte{}, clientMAC, "laptop", false)),
		frame(t, serverMAC, false, 67, 68, v4payload(2, 1, ip, clientMAC, "", true)),
		frame(t, c, false, 68, 67, v4payload(3, 1, [4]byte{}, clientMAC, "laptop", true)),
		frame(t, serverMAC, false, 67, 68, v4payload(5, 1, ip, clientMAC, "", true)),
		frame(t, c, false, 68, 67, v4payload(3, 2, [4]byte{}, clientMAC, "", false)),
		frame(t, serverMAC, false, 67, 68, v4payload(5, 2, ip, clientMAC, "", true)),
		frame(t, c, false, 68, 67, v4payload(3, 3, [4]byte{}, clientMAC, "late", false)),
		frame(t, serverMAC, false, 67, 68, v4payload(5, 3, ip, clientMAC, "", true)), // after the TTL
		frame(t, c, false, 68, 67, v4payload(3, 4, [4]byte{}, clientMAC, "laptop", false)),
		frame(t, serverMAC, false, 67, 68, v4payload(5, 4, [4]byte{}, clientMAC, "", true)), // no yiaddr
		frame(t, serverMAC, false, 67, 68, v4payload(6, 5, [4]byte{}, clientMAC, "", true)), // NAK
		frame(t, c, false, 68, 67, []byte{1, 1, 6, 0, 0, 0}),                                // truncated
		frame(t, c, true, 546, 547, v6payload(1, 7, false)),
		frame(t, serverMAC, true, 547, 546, v6payload(2, 7, true)),
		frame(t, c, true, 546, 547, v6payload(3, 8, true)),
		frame(t, serverMAC, true, 547, 546, v6payload(7, 8, true)),
		frame(t, serverMAC, true, 547, 546, v6payload(7, 9, false)),
		frame(t, c, true, 546, 547, v6payload(12, 0, false)), // relay-forward
	}
}

func TestWriteSynth(t *testing.T) {
	if !*writeSynth {
		t.Skip("run with -write-synth to regenerate the synthesized capture")
	}
	path := filepath.Join(repoRoot(t), "test", "testdata", "golden", "dhcp", "synth.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for i, fr := range synthFrames(t) {
		step := 100 * time.Millisecond
		if i == 7 {
			step = 6 * time.Second // the late ACK
		}
		ts = ts.Add(step)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(fr), Length: len(fr)}, fr); err != nil {
			t.Fatal(err)
		}
	}
}

func newHandler(t testing.TB, cfg handler.Config) *Handler {
	t.Helper()
	h, err := New("t", cfg, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return h.(*Handler)
}

func packet(t testing.TB, fr []byte, ts time.Time) *decode.Packet {
	var p decode.Packet
	if err := decode.Decode(decode.LinkEthernet, fr, &p); err != nil {
		t.Fatal(err)
	}
	p.Timestamp = ts
	return &p
}

func TestConfig(t *testing.T) {
	if _, err := New("x", handler.Config{"bogus": true}, handler.Env{}); err == nil ||
		!strings.Contains(err.Error(), "bogus is an invalid/unsupported config or filter. The valid configs/filters are: recorded_stream, xact_ttl_secs, xact_ttl_ms, deep_sample_rate") {
		t.Fatalf("err = %v", err)
	}
	if h := newHandler(t, handler.Config{"xact_ttl_secs": uint64(2)}); h.ttl != 2*time.Second {
		t.Fatalf("ttl %v", h.ttl)
	}
	if h := newHandler(t, handler.Config{"xact_ttl_secs": uint64(2), "xact_ttl_ms": uint64(300)}); h.ttl != 300*time.Millisecond {
		t.Fatalf("ttl %v: xact_ttl_ms must win", h.ttl)
	}
}

func TestTTLAndStats(t *testing.T) {
	h := newHandler(t, handler.Config{"num_periods": uint64(1), "xact_ttl_ms": uint64(500)})
	ip := [4]byte{10, 0, 0, 9}
	c := net.HardwareAddr(clientMAC[:])
	t0 := time.Unix(1700000000, 0)
	h.HandlePacket(packet(t, frame(t, c, false, 68, 67, v4payload(3, 1, [4]byte{}, clientMAC, "a", false)), t0))
	h.HandlePacket(packet(t, frame(t, serverMAC, false, 67, 68, v4payload(5, 1, ip, clientMAC, "", true)), t0.Add(time.Second)))
	h.HandlePacket(packet(t, frame(t, serverMAC, false, 67, 68, v4payload(5, 99, ip, clientMAC, "", true)), t0.Add(time.Second)))
	if s := h.Stats(); s.XactTimeout != 1 || len(h.xacts) != 0 {
		t.Fatalf("stats %+v, open %d", s, len(h.xacts))
	}
}

func TestTableBound(t *testing.T) {
	h := newHandler(t, handler.Config{"num_periods": uint64(1)})
	t0 := time.Unix(1700000000, 0)
	p := packet(t, frame(t, net.HardwareAddr(clientMAC[:]), false, 68, 67, v4payload(3, 0, [4]byte{}, clientMAC, "", false)), t0)
	for i := 0; i < MaxTransactions+10; i++ {
		binary.BigEndian.PutUint32(p.Payload[4:], uint32(i))
		h.HandlePacket(p)
	}
	if len(h.xacts) != MaxTransactions || h.Stats().XactDropped != 10 {
		t.Fatalf("open %d dropped %d", len(h.xacts), h.Stats().XactDropped)
	}
	// Once they expire, room is made.
	p.Timestamp = t0.Add(DefaultTTL + time.Second)
	binary.BigEndian.PutUint32(p.Payload[4:], 1<<31)
	h.HandlePacket(p)
	if len(h.xacts) != 1 {
		t.Fatalf("open %d after expiry", len(h.xacts))
	}
}

func TestAllocs(t *testing.T) {
	h := newHandler(t, handler.Config{"num_periods": uint64(1)})
	t0 := time.Unix(1700000000, 0)
	frames := synthFrames(t)
	pkts := make([]*decode.Packet, len(frames))
	for i, fr := range frames {
		pkts[i] = packet(t, fr, t0)
	}
	for _, p := range pkts { // warm the maps, sketches and free list
		h.HandlePacket(p)
	}
	n := testing.AllocsPerRun(200, func() {
		for _, p := range pkts {
			h.HandlePacket(p)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per exchange", n)
	}
}

func BenchmarkHandlePacket(b *testing.B) {
	h := newHandler(b, handler.Config{"num_periods": uint64(1)})
	t0 := time.Unix(1700000000, 0)
	frames := synthFrames(b)
	pkts := make([]*decode.Packet, len(frames))
	for i, fr := range frames {
		pkts[i] = packet(b, fr, t0)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.HandlePacket(pkts[i%len(pkts)])
		i++
	}
}
