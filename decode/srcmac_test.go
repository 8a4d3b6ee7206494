package decode

import "testing"

// TestSrcMAC checks that Ethernet frames report their source address (the
// DHCP handler's top_servers names servers by it) and other links do not.
func TestSrcMAC(t *testing.T) {
	frame := make([]byte, 14+20)
	copy(frame[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(frame[6:12], []byte{0xb8, 0x27, 0xeb, 0x0c, 0xb3, 0xe2})
	frame[12], frame[13] = 0x08, 0x00
	frame[14] = 0x45
	var p Packet
	_ = Decode(LinkEthernet, frame, &p)
	if !p.HasSrcMAC || p.SrcMAC != [6]byte{0xb8, 0x27, 0xeb, 0x0c, 0xb3, 0xe2} {
		t.Fatalf("ethernet: SrcMAC = %x (has %v)", p.SrcMAC, p.HasSrcMAC)
	}
	_ = Decode(LinkRaw, frame[14:], &p)
	if p.HasSrcMAC || p.SrcMAC != [6]byte{} {
		t.Fatalf("raw ip: SrcMAC = %x (has %v)", p.SrcMAC, p.HasSrcMAC)
	}
}
