package dnshandler_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/decode/dns"
)

// udpFrames loads the UDP DNS frames of a fixture (link type, bytes).
func udpFrames(b *testing.B) ([][]byte, decode.LinkType) {
	src, err := pcapfile.Open(fixture(b, "dns_udp_tcp_random.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var (
		out  [][]byte
		link decode.LinkType
		pkt  decode.Packet
	)
	for {
		var f capture.Frame
		if err := src.Next(&f); err != nil {
			break
		}
		if decode.Decode(f.LinkType, f.Data, &pkt) == nil && pkt.L4 == decode.L4UDP && len(pkt.Payload) >= 12 {
			out = append(out, append([]byte(nil), f.Data...))
			link = f.LinkType
		}
	}
	if len(out) == 0 {
		b.Skip("no UDP DNS frames")
	}
	return out, link
}

// dnsAndNetV1 is the default policy's dns v1 and net v1 handlers, one period.
func dnsAndNetV1(b *testing.B) (dnsH, netH handler.PacketConsumer) {
	cfg := handler.Config{"num_periods": uint64(1)}
	nh, err := nethandler.NewV1("n", cfg, handler.Env{})
	if err != nil {
		b.Fatal(err)
	}
	return newV1(b, cfg).(handler.PacketConsumer), nh.(handler.PacketConsumer)
}

// BenchmarkPerPacket compares, on the same UDP DNS frames: our L2-L4 +
// DNS decode, miekg/dns Msg.Unpack of the DNS payload alone, and decode +
// dns v1 + net v1 handlers. The ratio line is ns(miekg)/ns(ours).
func BenchmarkPerPacket(b *testing.B) {
	frames, link := udpFrames(b)
	var pkt decode.Packet
	var msg dns.Message
	var ours, miekg float64
	b.Run("decode+dns.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			f := frames[i%len(frames)]
			_ = decode.Decode(link, f, &pkt)
			_ = dns.Parse(pkt.Payload, &msg)
		}
		ours = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	payloads := make([][]byte, len(frames))
	for i, f := range frames {
		_ = decode.Decode(link, f, &pkt)
		payloads[i] = append([]byte(nil), pkt.Payload...)
	}
	b.Run("miekg.Unpack", func(b *testing.B) {
		b.ReportAllocs()
		m := new(mdns.Msg)
		for i := 0; i < b.N; i++ {
			_ = m.Unpack(payloads[i%len(payloads)])
		}
		miekg = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if ours > 0 && miekg > 0 {
		b.Logf("miekg/dns Unpack is %.1fx the time of decode+dns.Parse (%.0f vs %.0f ns/msg)", miekg/ours, miekg, ours)
	}
	b.Run("decode+dnsv1+netv1", func(b *testing.B) {
		d, n := dnsAndNetV1(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f := frames[i%len(frames)]
			_ = decode.Decode(link, f, &pkt)
			pkt.Timestamp = t0
			n.HandlePacket(&pkt)
			d.HandlePacket(&pkt)
		}
	})
}

// BenchmarkReader is the reader's path on dns_udp_tcp_random.pcap with
// dns v1 + net v1 (TCP reassembly included); reports packets/s.
func BenchmarkReader(b *testing.B) {
	path := fixture(b, "dns_udp_tcp_random.pcap")
	b.ReportAllocs()
	var frames uint64
	for i := 0; i < b.N; i++ {
		src, err := pcapfile.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		in, _ := input.NewPacketInput(src, input.PacketOptions{Recorded: true})
		cfg := handler.Config{"num_periods": uint64(1), "recorded_stream": true}
		nh, _ := nethandler.NewV1("n", cfg, handler.Env{})
		in.Attach(nh)
		in.Attach(newV1(b, cfg))
		if err := in.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		frames += in.Counters.Frames.Load()
		src.Close()
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkRandomSubdomainFlood: a water-torture attack, every query a new
// random name under one zone and every answer NXDOMAIN, through dns v1 +
// net v1. Names never repeat within the run, so the qname top lists see
// nothing but one-off keys: the top-K sketches' worst case.
func BenchmarkRandomSubdomainFlood(b *testing.B) {
	const n = 1 << 16
	r := rand.New(rand.NewPCG(3, 4))
	pkts := make([]*decode.Packet, 0, 2*n)
	for i := range n {
		var name strings.Builder
		for range 12 {
			name.WriteByte(byte('a' + r.IntN(26)))
		}
		q := wire(b, name.String()+".victim.example", mdns.TypeA, uint16(i), false, 0, 0)
		a := wire(b, name.String()+".victim.example", mdns.TypeA, uint16(i), true, mdns.RcodeNameError, 0)
		port := uint16(1024 + i%60000)
		pkts = append(pkts, udp(q, true, port, t0), udp(a, false, port, t0))
	}
	d, nc := dnsAndNetV1(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pkts[i%len(pkts)]
		nc.HandlePacket(p)
		d.HandlePacket(p)
	}
}
