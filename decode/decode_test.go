package decode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// want lists the fields a case checks; fields left zero must be zero.
type want struct {
	err     error // sentinel, or nil
	layer   Layer // checked when err != nil
	pkt     Packet
	payload []byte // compared by content; nil means "no payload"
	noCross bool   // gopacket cannot decode this frame, skip the cross-check
}

func ip4Pkt(proto uint8, l4 L4) Packet {
	return Packet{EtherType: EtherTypeIPv4, L3: L3IPv4, Src: src4, Dst: dst4, IPProto: proto, TOS: 0x28, TTL: 64, L4: l4}
}

func ip6Pkt(proto uint8, l4 L4) Packet {
	return Packet{EtherType: EtherTypeIPv6, L3: L3IPv6, Src: src6, Dst: dst6, IPProto: proto, TOS: 0xb8, TTL: 63, L4: l4}
}

func with(p Packet, f func(*Packet)) Packet { f(&p); return p }

func TestDecode(t *testing.T) {
	udpDNS := udp(40000, 53, dnsQuery)
	tcpOpts := []byte{2, 4, 0x05, 0xb4, 1, 1, 4, 2} // MSS, NOP, NOP, SACK-permitted
	tcpSeg := tcp(51000, 443, 0x01020304, 0x0a0b0c0d, TCPPsh|TCPAck, tcpOpts, []byte("hello"))
	udpPkt4 := func(iplen int) Packet {
		return with(ip4Pkt(ProtoUDP, L4UDP), func(p *Packet) { p.IPLen = iplen; p.SrcPort = 40000; p.DstPort = 53 })
	}
	udpPkt6 := func(iplen int) Packet {
		return with(ip6Pkt(ProtoUDP, L4UDP), func(p *Packet) { p.IPLen = iplen; p.SrcPort = 40000; p.DstPort = 53 })
	}
	datagram := udp(40000, 53, bytes.Repeat([]byte{0xab}, 100)) // 108 bytes, fragmented below

	tests := []struct {
		name  string
		link  LinkType
		frame []byte
		want  want
	}{
		{"ethernet ipv4 udp (gopacket)", LinkEthernet, gpDNSFrame(t),
			want{pkt: udpPkt4(20 + 8 + len(dnsQuery)), payload: dnsQuery}},
		{"ethernet padding stays out of udp payload", LinkEthernet,
			padTo(cat(ethHdr(EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{}, udp(40000, 53, []byte("hi")))), 60),
			want{pkt: udpPkt4(30), payload: []byte("hi")}},
		{"ethernet ipv4 options tcp options", LinkEthernet,
			cat(ethHdr(EtherTypeIPv4), ipv4(ProtoTCP, ip4opts{options: []byte{0x94, 4, 0, 0, 1, 1, 1, 0}}, tcpSeg)),
			want{pkt: with(ip4Pkt(ProtoTCP, L4TCP), func(p *Packet) {
				p.IPLen = 28 + len(tcpSeg)
				p.SrcPort, p.DstPort = 51000, 443
				p.TCPSeq, p.TCPAck, p.TCPFlags = 0x01020304, 0x0a0b0c0d, TCPPsh|TCPAck
			}), payload: []byte("hello")}},
		{"ethernet ipv6 tcp options (gopacket)", LinkEthernet, gpTCP6Frame(t),
			want{pkt: with(ip6Pkt(ProtoTCP, L4TCP), func(p *Packet) {
				p.IPLen = 40 + 40 + 100
				p.SrcPort, p.DstPort = 443, 51000
				p.TCPSeq, p.TCPAck, p.TCPFlags = 1000, 2000, TCPPsh|TCPAck
			}), payload: gpTCP6Frame(t)[14+40+40:]}},
		{"ethernet ipv4 icmp echo", LinkEthernet,
			cat(ethHdr(EtherTypeIPv4), ipv4(ProtoICMP, ip4opts{}, icmp(8, 0, []byte{0, 1, 0, 2, 'p', 'i', 'n', 'g'}))),
			want{pkt: with(ip4Pkt(ProtoICMP, L4ICMP), func(p *Packet) { p.IPLen = 32; p.ICMPType = 8 }),
				payload: []byte{0, 1, 0, 2, 'p', 'i', 'n', 'g'}}},
		{"ethernet ipv6 icmpv6 unreachable", LinkEthernet,
			cat(ethHdr(EtherTypeIPv6), ipv6(ProtoICMPv6, icmp(1, 4, []byte{0, 0, 0, 0}))),
			want{pkt: with(ip6Pkt(ProtoICMPv6, L4ICMP), func(p *Packet) { p.IPLen = 48; p.ICMPType, p.ICMPCode = 1, 4 }),
				payload: []byte{0, 0, 0, 0}}},
		{"icmp protocol number inside ipv6 is not icmpv6", LinkIPv6, ipv6(ProtoICMP, icmp(8, 0, nil)),
			want{pkt: with(ip6Pkt(ProtoICMP, L4Other), func(p *Packet) { p.IPLen = 44 })}},
		{"802.1q", LinkEthernet, cat(ethHdr(EtherTypeVLAN), vlanTag(42, EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{}, udpDNS)),
			want{pkt: with(udpPkt4(28+len(dnsQuery)), func(p *Packet) { p.VLANs = [2]uint16{42}; p.NumVLANs = 1 }), payload: dnsQuery}},
		{"qinq (gopacket)", LinkEthernet, gpVLANFrame(t),
			want{pkt: with(udpPkt4(28+len(dnsQuery)), func(p *Packet) { p.VLANs = [2]uint16{100, 200}; p.NumVLANs = 2 }), payload: dnsQuery}},
		{"three tags: two recorded, third skipped", LinkEthernet,
			cat(ethHdr(EtherTypeQinQOld), vlanTag(1, EtherTypeQinQ), vlanTag(2, EtherTypeVLAN), vlanTag(3, EtherTypeIPv6), ipv6(ProtoUDP, udpDNS)),
			want{pkt: with(udpPkt6(48+len(dnsQuery)), func(p *Packet) { p.VLANs = [2]uint16{1, 2}; p.NumVLANs = 2 }), payload: dnsQuery,
				noCross: true}}, // gopacket does not know the 0x9100 TPID
		{"802.3 llc frame is not ip", LinkEthernet, padTo(cat(macDst, macSrc, u16(38), []byte{0x42, 0x42, 0x03}), 60),
			want{pkt: Packet{L4: L4None}}},
		{"arp is not ip", LinkEthernet, padTo(ethHdr(0x0806), 60),
			want{pkt: Packet{EtherType: 0x0806, L4: L4None}}},
		{"linux sll", LinkLinuxSLL, cat(sllHdr(EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{}, udpDNS)),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery}},
		{"linux sll vlan", LinkLinuxSLL, cat(sllHdr(EtherTypeVLAN), vlanTag(7, EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{}, udpDNS)),
			want{pkt: with(udpPkt4(28+len(dnsQuery)), func(p *Packet) { p.VLANs = [2]uint16{7}; p.NumVLANs = 1 }), payload: dnsQuery}},
		{"linux sll2", LinkLinuxSLL2, cat(sll2Hdr(EtherTypeIPv6), ipv6(ProtoUDP, udpDNS)),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"raw 101 ipv4", LinkRaw, ipv4(ProtoUDP, ip4opts{}, udpDNS),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery}},
		{"raw 101 ipv6", LinkRaw, ipv6(ProtoUDP, udpDNS),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"raw 101 bad version", LinkRaw, []byte{0x55, 0, 0, 0},
			want{err: ErrMalformed, layer: LayerIP, pkt: Packet{L4: L4None}}},
		{"ipv4 link", LinkIPv4, ipv4(ProtoUDP, ip4opts{}, udpDNS),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery}},
		{"ipv6 link", LinkIPv6, ipv6(ProtoUDP, udpDNS),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"null little-endian AF_INET", LinkNull, cat([]byte{2, 0, 0, 0}, ipv4(ProtoUDP, ip4opts{}, udpDNS)),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery}},
		{"null big-endian AF_INET6 (openbsd)", LinkNull, cat([]byte{0, 0, 0, 24}, ipv6(ProtoUDP, udpDNS)),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"null little-endian AF_INET6 (darwin)", LinkNull, cat([]byte{30, 0, 0, 0}, ipv6(ProtoUDP, udpDNS)),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"loop (openbsd) AF_INET6", LinkLoop, cat([]byte{0, 0, 0, 24}, ipv6(ProtoUDP, udpDNS)),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"null unknown family", LinkNull, []byte{7, 0, 0, 0, 1, 2, 3},
			want{pkt: Packet{L4: L4None}}},
		{"ipv4 first fragment decodes transport", LinkIPv4,
			ipv4(ProtoUDP, ip4opts{id: 777, more: true}, datagram[:48]),
			want{pkt: with(udpPkt4(68), func(p *Packet) { p.Fragment, p.MoreFrag, p.FragID = true, true, 777 }),
				payload: datagram[8:48]}},
		{"ipv4 later fragment has no transport", LinkIPv4,
			ipv4(ProtoUDP, ip4opts{id: 777, fragOff: 6}, datagram[48:]),
			want{pkt: with(ip4Pkt(ProtoUDP, L4None), func(p *Packet) {
				p.IPLen = 20 + 60
				p.Fragment, p.FragOff, p.FragID = true, 6, 777
			})}},
		{"ipv4 don't-fragment is not a fragment", LinkIPv4,
			func() []byte { b := ipv4(ProtoUDP, ip4opts{}, udpDNS); b[6] = 0x40; return b }(),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery}},
		{"ipv4 total length zero (offload) uses capture", LinkIPv4,
			func() []byte { b := ipv4(ProtoUDP, ip4opts{}, udpDNS); b[2], b[3] = 0, 0; return b }(),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery}},
		{"ipv4 snaplen cut payload", LinkIPv4, ipv4(ProtoUDP, ip4opts{}, udpDNS)[:28+10],
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery[:10]}},
		{"ipv6 hop-by-hop, routing, destination options", LinkIPv6,
			ipv6(protoHopOpts, cat(ext6(protoRouting, 1), ext6(protoDstOpts, 3), ext6(ProtoUDP, 2), udpDNS)),
			want{pkt: udpPkt6(40 + 48 + 8 + len(dnsQuery)), payload: dnsQuery}},
		{"ipv6 first fragment", LinkIPv6, ipv6(protoFragment, cat(frag6(ProtoUDP, 0, true, 0xdeadbeef), datagram[:48])),
			want{pkt: with(udpPkt6(40+8+48), func(p *Packet) { p.Fragment, p.MoreFrag, p.FragID = true, true, 0xdeadbeef }),
				payload: datagram[8:48]}},
		{"ipv6 later fragment", LinkIPv6, ipv6(protoHopOpts, cat(ext6(protoFragment, 1), frag6(ProtoUDP, 6, false, 0xdeadbeef), datagram[48:])),
			want{pkt: with(ip6Pkt(ProtoUDP, L4None), func(p *Packet) {
				p.IPLen = 40 + 16 + 60
				p.Fragment, p.FragOff, p.FragID = true, 6, 0xdeadbeef
			})}},
		{"ipv6 atomic fragment is whole", LinkIPv6, ipv6(protoFragment, cat(frag6(ProtoUDP, 0, false, 9), udpDNS)),
			want{pkt: with(udpPkt6(56+len(dnsQuery)), func(p *Packet) { p.FragID = 9 }), payload: dnsQuery}},
		{"ipv6 ah then tcp", LinkIPv6, ipv6(protoAH, cat(ah6(ProtoTCP), tcpSeg)),
			want{pkt: with(ip6Pkt(ProtoTCP, L4TCP), func(p *Packet) {
				p.IPLen = 40 + 24 + len(tcpSeg)
				p.SrcPort, p.DstPort = 51000, 443
				p.TCPSeq, p.TCPAck, p.TCPFlags = 0x01020304, 0x0a0b0c0d, TCPPsh|TCPAck
			}), payload: []byte("hello")}},
		{"ipv6 esp is opaque", LinkIPv6, ipv6(50, make([]byte, 24)),
			want{pkt: with(ip6Pkt(50, L4Other), func(p *Packet) { p.IPLen = 64 })}},
		{"ipv6 no next header", LinkIPv6, ipv6(protoDstOpts, ext6(59, 1)),
			want{pkt: with(ip6Pkt(59, L4Other), func(p *Packet) { p.IPLen = 48 })}},
		{"ipv6 extension chain too long", LinkIPv6,
			ipv6(protoHopOpts, cat(bytes.Repeat(ext6(protoDstOpts, 1), MaxIPv6ExtHeaders), ext6(ProtoUDP, 1), udpDNS)),
			want{err: ErrMalformed, layer: LayerIPv6Ext, pkt: with(ip6Pkt(protoDstOpts, L4None), func(p *Packet) {
				p.IPLen = 40 + 8*(MaxIPv6ExtHeaders+1) + len(udpDNS)
			})}},
		{"ipv6 extension header truncated", LinkIPv6, ipv6(protoHopOpts, ext6(ProtoUDP, 2))[:40+9],
			want{err: ErrTruncated, layer: LayerIPv6Ext, pkt: with(ip6Pkt(protoHopOpts, L4None), func(p *Packet) { p.IPLen = 56 })}},
		{"ipv4 ihl below 5", LinkIPv4, func() []byte { b := ipv4(ProtoUDP, ip4opts{}, udpDNS); b[0] = 0x44; return b }(),
			want{err: ErrMalformed, layer: LayerIPv4, pkt: with(ip4Pkt(ProtoUDP, L4None), func(p *Packet) { p.IPLen = 28 + len(dnsQuery) })}},
		{"ipv4 total length below header", LinkIPv4, ipv4(ProtoUDP, ip4opts{total: 12}, udpDNS),
			want{err: ErrMalformed, layer: LayerIPv4, pkt: with(ip4Pkt(ProtoUDP, L4None), func(p *Packet) { p.IPLen = 12 })}},
		{"ethertype ipv4 carrying ipv6", LinkEthernet, cat(ethHdr(EtherTypeIPv4), ipv6(ProtoUDP, udpDNS)),
			want{err: ErrMalformed, layer: LayerIPv4, pkt: Packet{EtherType: EtherTypeIPv4, L3: L3IPv4, L4: L4None}}},
		{"tcp data offset below 5", LinkIPv4,
			ipv4(ProtoTCP, ip4opts{}, func() []byte { b := tcp(1, 2, 3, 4, TCPSyn, nil, nil); b[12] = 0x40; return b }()),
			want{err: ErrMalformed, layer: LayerTCP, pkt: with(ip4Pkt(ProtoTCP, L4TCP), func(p *Packet) {
				p.IPLen = 40
				p.SrcPort, p.DstPort, p.TCPSeq, p.TCPAck, p.TCPFlags = 1, 2, 3, 4, TCPSyn
			})}},
		{"tcp header cut short keeps l3", LinkIPv4, ipv4(ProtoTCP, ip4opts{}, tcpSeg)[:20+19],
			want{err: ErrTruncated, layer: LayerTCP, pkt: with(ip4Pkt(ProtoTCP, L4TCP), func(p *Packet) { p.IPLen = 20 + len(tcpSeg) })}},
		{"udp length below 8", LinkIPv4, ipv4(ProtoUDP, ip4opts{}, func() []byte { b := udp(1, 2, nil); b[5] = 7; return b }()),
			want{err: ErrMalformed, layer: LayerUDP, pkt: with(ip4Pkt(ProtoUDP, L4UDP), func(p *Packet) { p.IPLen = 28; p.SrcPort, p.DstPort = 1, 2 })}},
		{"udp length shorter than ip payload", LinkIPv4,
			ipv4(ProtoUDP, ip4opts{}, func() []byte { b := udp(40000, 53, dnsQuery); b[5] = 10; return b }()),
			want{pkt: udpPkt4(28 + len(dnsQuery)), payload: dnsQuery[:2]}},
		{"udp length zero (jumbogram) uses ip length", LinkIPv6,
			ipv6(ProtoUDP, func() []byte { b := udp(40000, 53, dnsQuery); b[4], b[5] = 0, 0; return b }()),
			want{pkt: udpPkt6(48 + len(dnsQuery)), payload: dnsQuery}},
		{"icmp truncated", LinkIPv4, ipv4(ProtoICMP, ip4opts{}, []byte{8, 0, 0}),
			want{err: ErrTruncated, layer: LayerICMP, pkt: with(ip4Pkt(ProtoICMP, L4ICMP), func(p *Packet) { p.IPLen = 23 })}},
		{"icmpv6 truncated", LinkIPv6, ipv6(ProtoICMPv6, []byte{128}),
			want{err: ErrTruncated, layer: LayerICMPv6, pkt: with(ip6Pkt(ProtoICMPv6, L4ICMP), func(p *Packet) { p.IPLen = 41 })}},
		{"empty ethernet", LinkEthernet, nil, want{err: ErrTruncated, layer: LayerEthernet, pkt: Packet{L4: L4None}}},
		{"vlan tag cut short", LinkEthernet, cat(ethHdr(EtherTypeVLAN), []byte{0, 1}),
			want{err: ErrTruncated, layer: LayerVLAN, pkt: Packet{EtherType: EtherTypeVLAN, L4: L4None}}},
		{"unsupported link", LinkType(105), []byte{1, 2, 3},
			want{err: ErrUnsupportedLink, layer: LayerLink, pkt: Packet{L4: L4None}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Start dirty to prove Decode keeps nothing from a previous use.
			p := Packet{Dir: DirIn, TCPSeq: 99, Payload: []byte("stale"), VLANs: [2]uint16{9, 9}}
			err := Decode(tc.link, tc.frame, &p)
			checkErr(t, err, tc.want.err, tc.want.layer)

			if (p.Payload == nil) != (tc.want.payload == nil) || !bytes.Equal(p.Payload, tc.want.payload) {
				t.Errorf("payload = %q, want %q", p.Payload, tc.want.payload)
			}
			got := p
			got.Payload, got.L3Data, got.L4Data = nil, nil, nil
			// The Ethernet source address is checked in TestSrcMAC.
			got.SrcMAC, got.HasSrcMAC = [6]byte{}, false
			exp := tc.want.pkt
			exp.CapLen, exp.OrigLen = len(tc.frame), len(tc.frame)
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("packet mismatch\n got  %+v\n want %+v", got, exp)
			}
			if err := checkInvariants(tc.link, tc.frame, &p, err); err != nil {
				t.Error(err)
			}
			if err == nil && !tc.want.noCross {
				if err := crossCheck(tc.link, tc.frame, &p); err != nil {
					t.Errorf("gopacket disagrees: %v", err)
				}
			}
		})
	}
}

func checkErr(t *testing.T, err, sentinel error, layer Layer) {
	t.Helper()
	if sentinel == nil {
		if err != nil {
			t.Fatalf("Decode: unexpected error %v", err)
		}
		return
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("Decode error = %v, want %v", err, sentinel)
	}
	var le LayerError
	if !errors.As(err, &le) {
		t.Fatalf("Decode error %T is not a LayerError", err)
	}
	if le.Layer() != layer {
		t.Errorf("error layer = %v, want %v", le.Layer(), layer)
	}
}

func TestLayerErrorText(t *testing.T) {
	var err error = layerErr(LayerIPv4, kindTruncated)
	if got, want := err.Error(), "ipv4 header: truncated"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupportedLink) {
		t.Error("a truncation error matches another sentinel")
	}
	if err != error(layerErr(LayerIPv4, kindTruncated)) {
		t.Error("equal LayerErrors compare unequal")
	}
	for l := LayerLink; l <= LayerICMPv6; l++ {
		for k := kindTruncated; k <= kindUnsupportedLink; k++ {
			e := layerErr(l, k)
			if e.Layer() != l || e.Layer().String() == "unknown layer" {
				t.Errorf("layer %d kind %d round-trips to %v", l, k, e.Layer())
			}
		}
	}
}

// TestTruncateEveryOffset cuts full frames at every length: inside the
// headers Decode must report ErrTruncated, past them it must succeed with
// the payload cut to what is left. Nothing may panic.
func TestTruncateEveryOffset(t *testing.T) {
	udpDNS := udp(40000, 53, dnsQuery)
	frames := []struct {
		name  string
		link  LinkType
		frame []byte
	}{
		{"ethernet ipv4 udp", LinkEthernet, gpDNSFrame(t)},
		{"ethernet ipv6 tcp options", LinkEthernet, gpTCP6Frame(t)},
		{"qinq", LinkEthernet, gpVLANFrame(t)},
		{"ipv4 options", LinkEthernet, cat(ethHdr(EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{options: []byte{0x94, 4, 0, 0}}, udpDNS))},
		{"ipv6 extension headers", LinkEthernet, cat(ethHdr(EtherTypeIPv6),
			ipv6(protoHopOpts, cat(ext6(protoFragment, 2), frag6(protoAH, 0, true, 5), ah6(ProtoUDP), udpDNS)))},
		{"icmp", LinkIPv4, ipv4(ProtoICMP, ip4opts{}, icmp(8, 0, []byte{1, 2, 3, 4}))},
		{"icmpv6", LinkIPv6, ipv6(ProtoICMPv6, icmp(128, 0, []byte{1, 2, 3, 4}))},
		{"sll", LinkLinuxSLL, cat(sllHdr(EtherTypeIPv4), ipv4(ProtoUDP, ip4opts{}, udpDNS))},
		{"sll2", LinkLinuxSLL2, cat(sll2Hdr(EtherTypeIPv6), ipv6(ProtoUDP, udpDNS))},
		{"null", LinkNull, cat([]byte{2, 0, 0, 0}, ipv4(ProtoUDP, ip4opts{}, udpDNS))},
		{"raw", LinkRaw, ipv6(ProtoUDP, udpDNS)},
		{"loop", LinkLoop, cat([]byte{0, 0, 0, 2}, ipv4(ProtoUDP, ip4opts{}, udpDNS))},
	}
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			frame := f.frame[:len(f.frame):len(f.frame)] // so cap measures offsets
			var full Packet
			if err := Decode(f.link, frame, &full); err != nil {
				t.Fatalf("full frame: %v", err)
			}
			hdrEnd := len(frame) - cap(full.Payload) // where the payload starts
			payEnd := hdrEnd + len(full.Payload)
			for n := 0; n <= len(frame); n++ {
				cut := frame[:n:n]
				var p Packet
				err := Decode(f.link, cut, &p)
				if err := checkInvariants(f.link, cut, &p, err); err != nil {
					t.Fatalf("cut at %d: %v", n, err)
				}
				if n < hdrEnd {
					if !errors.Is(err, ErrTruncated) {
						t.Fatalf("cut at %d/%d: err = %v, want ErrTruncated", n, hdrEnd, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("cut at %d (headers end at %d): %v", n, hdrEnd, err)
				}
				if want := min(n, payEnd) - hdrEnd; len(p.Payload) != want {
					t.Fatalf("cut at %d: payload %d bytes, want %d", n, len(p.Payload), want)
				}
			}
		})
	}
}

func TestFlowHash(t *testing.T) {
	var a, b Packet
	if err := Decode(LinkEthernet, gpDNSFrame(t), &a); err != nil {
		t.Fatal(err)
	}
	b = a
	b.Src, b.Dst, b.SrcPort, b.DstPort = a.Dst, a.Src, a.DstPort, a.SrcPort
	if a.FlowHash() != b.FlowHash() {
		t.Error("hash depends on direction")
	}
	// Pinned so a change to the mixer, which would reshuffle every sampling
	// decision and break cross-process agreement, is deliberate.
	if got, want := a.FlowHash(), uint64(0x315b9c753e1d24c0); got != want {
		t.Errorf("FlowHash = %#x, want %#x", got, want)
	}
	distinct := map[uint64]string{a.FlowHash(): "base"}
	for name, f := range map[string]func(p *Packet){
		"src port": func(p *Packet) { p.SrcPort++ },
		"dst port": func(p *Packet) { p.DstPort++ },
		"ports swapped alone": func(p *Packet) {
			p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
		},
		"proto":    func(p *Packet) { p.IPProto = ProtoTCP },
		"src addr": func(p *Packet) { p.Src = src6 },
		"dst addr": func(p *Packet) { p.Dst = dst6 },
		"l3":       func(p *Packet) { p.L3 = L3IPv6 },
	} {
		c := a
		f(&c)
		h := c.FlowHash()
		if prev, dup := distinct[h]; dup {
			t.Errorf("changing %s collides with %s", name, prev)
		}
		distinct[h] = name
	}
	var zero Packet
	_ = zero.FlowHash() // a non-IP packet must hash, not panic
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{LinkEthernet.String(), "ethernet"},
		{LinkLinuxSLL2.String(), "linux-sll2"},
		{LinkType(42).String(), "linktype-42"},
		{L3IPv6.String(), "ipv6"},
		{L3Other.String(), "other"},
		{L4ICMP.String(), "icmp"},
		{L4None.String(), "none"},
		{DirOut.String(), "out"},
		{LayerIPv6Ext.String(), "ipv6 extension header"},
		{Layer(200).String(), "unknown layer"},
	} {
		if c.got != c.want {
			t.Errorf("String() = %q, want %q", c.got, c.want)
		}
	}
}
