package decode

import "testing"

// TestDecodeAllocs holds Decode to its budget: no allocation per frame,
// whether the frame is good, truncated, malformed or of an unknown link.
func TestDecodeAllocs(t *testing.T) {
	full := gpTCP6Frame(t)
	frames := []struct {
		name  string
		link  LinkType
		frame []byte
	}{
		{"ipv4 udp", LinkEthernet, gpDNSFrame(t)},
		{"ipv6 tcp", LinkEthernet, full},
		{"qinq", LinkEthernet, gpVLANFrame(t)},
		{"ipv6 extension headers", LinkIPv6, ipv6(protoHopOpts, cat(ext6(protoFragment, 1), frag6(ProtoUDP, 0, true, 1), udp(1, 2, nil)))},
		{"sll2", LinkLinuxSLL2, cat(sll2Hdr(EtherTypeIPv4), ipv4(ProtoICMP, ip4opts{}, icmp(8, 0, nil)))},
		{"truncated", LinkEthernet, full[:14+40+30]},
		{"malformed", LinkRaw, []byte{0x75}},
		{"unsupported link", LinkType(9999), full},
	}
	var p Packet
	for _, f := range frames {
		var err error
		if n := testing.AllocsPerRun(200, func() { err = Decode(f.link, f.frame, &p) }); n != 0 {
			t.Errorf("%s: %v allocs per Decode, want 0", f.name, n)
		}
		if n := testing.AllocsPerRun(200, func() { _ = p.FlowHash() }); n != 0 {
			t.Errorf("%s: %v allocs per FlowHash, want 0", f.name, n)
		}
		_ = err
	}
}
