package frames

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestBuildDecodes cross-checks the builder with gopacket's decoders.
func TestBuildDecodes(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	for _, tc := range []struct {
		name string
		spec Spec
		want []gopacket.LayerType
	}{
		{"udp4", Spec{Src: v4a, Dst: v4b, Proto: ProtoUDP, SrcPort: 1, DstPort: 9999, Payload: []byte("x")},
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP}},
		{"qinq tcp4 options", Spec{VLANs: []uint16{10, 20}, Src: v4a, Dst: v4b, Proto: ProtoTCP, SYN: true, IPv4Options: 8},
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeDot1Q, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{"udp6 ext", Spec{Src: v6a, Dst: v6b, Proto: ProtoUDP, V6Ext: []uint8{ExtHopByHop, ExtDestOpts, ExtRouting}},
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing, layers.LayerTypeUDP}},
		{"udp6 first fragment", Spec{Src: v6a, Dst: v6b, Proto: ProtoUDP, MoreFrags: true},
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeIPv6Fragment}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := gopacket.NewPacket(Build(tc.spec), layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("decode: %v", el.Error())
			}
			got := p.Layers()
			for i, lt := range tc.want {
				if i >= len(got) || got[i].LayerType() != lt {
					t.Fatalf("layer %d: want %v, got %v", i, lt, got)
				}
			}
		})
	}
}
