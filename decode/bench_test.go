package decode

import (
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

type benchFrame struct {
	name  string
	frame []byte
}

func benchFrames(b *testing.B) []benchFrame {
	return []benchFrame{
		{"eth-ipv4-udp-dns", gpDNSFrame(b)},
		{"eth-ipv6-tcp", gpTCP6Frame(b)},
		{"eth-qinq-ipv4-udp", gpVLANFrame(b)},
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, f := range benchFrames(b) {
		b.Run(f.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(f.frame)))
			for b.Loop() {
				if err := Decode(LinkEthernet, f.frame, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// gopacketParser is the baseline: gopacket's fastest path, a
// DecodingLayerParser over preallocated layers, for the same stacks.
type gopacketParser struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     layers.UDP
	tcp     layers.TCP
	payload gopacket.Payload
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newGopacketParser() *gopacketParser {
	g := &gopacketParser{decoded: make([]gopacket.LayerType, 0, 8)}
	g.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&g.eth, &g.dot1q, &g.ip4, &g.ip6, &g.udp, &g.tcp, &g.payload)
	g.parser.IgnoreUnsupported = true
	return g
}

func (g *gopacketParser) decode(data []byte) error {
	return g.parser.DecodeLayers(data, &g.decoded)
}

func BenchmarkGopacketDecodingLayerParser(b *testing.B) {
	for _, f := range benchFrames(b) {
		b.Run(f.name, func(b *testing.B) {
			g := newGopacketParser()
			b.ReportAllocs()
			b.SetBytes(int64(len(f.frame)))
			for b.Loop() {
				if err := g.decode(f.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeVsGopacket times Decode and the gopacket baseline on the
// same frames in one run and reports how many times faster Decode is, so
// the ratio survives machines and noise better than two separate runs.
func BenchmarkDecodeVsGopacket(b *testing.B) {
	for _, f := range benchFrames(b) {
		b.Run(f.name, func(b *testing.B) {
			var p Packet
			g := newGopacketParser()
			b.ReportAllocs()
			start := time.Now()
			for range b.N {
				_ = Decode(LinkEthernet, f.frame, &p)
			}
			ours := time.Since(start)
			start = time.Now()
			for range b.N {
				_ = g.decode(f.frame)
			}
			theirs := time.Since(start)
			b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "visor-ns/op")
			b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "gopacket-ns/op")
			b.ReportMetric(float64(theirs)/float64(ours), "speedup")
		})
	}
}

func BenchmarkFlowHash(b *testing.B) {
	var p Packet
	if err := Decode(LinkEthernet, gpTCP6Frame(b), &p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		sink += p.FlowHash()
	}
	_ = sink
}
