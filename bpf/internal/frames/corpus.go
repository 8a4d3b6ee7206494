package frames

import "net/netip"

// Corpus returns a varied set of frames (every protocol, tag and header
// variant Spec supports, plus truncations of a few) for differential tests.
func Corpus() [][]byte {
	v4 := []netip.Addr{netip.MustParseAddr("192.168.0.189"), netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.1.2.3")}
	v6 := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::2")}
	var out [][]byte
	ports := [][2]uint16{{40000, 53}, {53, 40001}, {5353, 5353}, {40002, 53000}, {22, 50000}, {443, 1234}}
	for _, vlans := range [][]uint16{nil, {5}, {100, 200}} {
		for _, proto := range []uint8{ProtoUDP, ProtoTCP, ProtoICMP, ProtoICMPv6, ProtoGRE} {
			for _, p := range ports {
				for _, payload := range [][]byte{nil, make([]byte, 60), make([]byte, 400)} {
					out = append(out,
						Build(Spec{VLANs: vlans, Src: v4[0], Dst: v4[1], Proto: proto, SrcPort: p[0], DstPort: p[1], Payload: payload, SYN: p[0] == 22}),
						Build(Spec{VLANs: vlans, Src: v4[2], Dst: v4[0], Proto: proto, SrcPort: p[1], DstPort: p[0], Payload: payload, IPv4Options: 4}),
						Build(Spec{VLANs: vlans, Src: v6[0], Dst: v6[1], Proto: proto, SrcPort: p[0], DstPort: p[1], Payload: payload}),
						Build(Spec{VLANs: vlans, Src: v6[1], Dst: v6[0], Proto: proto, SrcPort: p[0], DstPort: p[1], Payload: payload,
							V6Ext: []uint8{ExtHopByHop, ExtRouting, ExtDestOpts}}),
					)
				}
			}
			out = append(out,
				Build(Spec{VLANs: vlans, Src: v4[0], Dst: v4[1], Proto: proto, SrcPort: 1, DstPort: 53, MoreFrags: true}),
				Build(Spec{VLANs: vlans, Src: v4[0], Dst: v4[1], Proto: proto, FragOffset: 185, Payload: make([]byte, 100)}),
				Build(Spec{VLANs: vlans, Src: v6[0], Dst: v6[1], Proto: proto, SrcPort: 1, DstPort: 53, MoreFrags: true}),
				Build(Spec{VLANs: vlans, Src: v6[0], Dst: v6[1], Proto: proto, FragOffset: 185, Payload: make([]byte, 100),
					V6Ext: []uint8{ExtAH}}),
			)
		}
		out = append(out, NonIP(vlans, 0x0806, make([]byte, 28)), NonIP(vlans, 0x88cc, make([]byte, 46)))
	}
	// Every truncation of a few representative frames.
	for _, f := range [][]byte{
		Build(Spec{VLANs: []uint16{1, 2}, Src: v4[0], Dst: v4[1], Proto: ProtoUDP, SrcPort: 9, DstPort: 53, Payload: []byte{1, 2, 3}}),
		Build(Spec{Src: v6[0], Dst: v6[1], Proto: ProtoTCP, SrcPort: 9, DstPort: 53, SYN: true, V6Ext: []uint8{ExtHopByHop}}),
	} {
		for n := 14; n < len(f); n++ {
			out = append(out, f[:n])
		}
	}
	return out
}
