package afpacket

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/visorng/visor/decode"
)

// slotBytes lays out one tpacket3_hdr + sockaddr_ll + frame the way the
// kernel does, with the frame at offset mac.
type slotSpec struct {
	status   uint32
	mac, net uint16
	tci      uint16
	tpid     uint16
	proto    uint16 // network order value, e.g. 0x0800
	hatype   uint16
	pkttype  uint8
	addr     []byte
	frame    []byte
	origLen  int
}

func slotBytes(s slotSpec) []byte {
	b := make([]byte, int(s.mac)+len(s.frame))
	ne := binary.NativeEndian
	ne.PutUint32(b[thSec:], 1700000000)
	ne.PutUint32(b[thNsec:], 123456789)
	ne.PutUint32(b[thSnaplen:], uint32(len(s.frame)))
	orig := s.origLen
	if orig == 0 {
		orig = len(s.frame)
	}
	ne.PutUint32(b[thLen:], uint32(orig))
	ne.PutUint32(b[thStatus:], s.status)
	ne.PutUint16(b[thMac:], s.mac)
	ne.PutUint16(b[thNet:], s.net)
	ne.PutUint32(b[thVlanTCI:], uint32(s.tci))
	ne.PutUint16(b[thVlanTPID:], s.tpid)
	binary.BigEndian.PutUint16(b[sllProtocol:], s.proto)
	ne.PutUint16(b[sllHatype:], s.hatype)
	b[sllPkttype] = s.pkttype
	b[sllHalen] = byte(len(s.addr))
	copy(b[sllAddr:], s.addr)
	copy(b[s.mac:], s.frame)
	return b
}

var (
	macDst = []byte{0x02, 0, 0, 0, 0, 1}
	macSrc = []byte{0x02, 0, 0, 0, 0, 2}
	ipv4   = []byte{0x45, 0, 0, 20, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
)

func ethFrame(etherType uint16, payload []byte) []byte {
	f := append(append([]byte{}, macDst...), macSrc...)
	f = binary.BigEndian.AppendUint16(f, etherType)
	return append(f, payload...)
}

func TestParseSlot(t *testing.T) {
	plain := ethFrame(0x0800, ipv4)
	tagged := append(append(append([]byte{}, macDst...), macSrc...), 0x81, 0x00, 0x60, 0x64, 0x08, 0x00)
	tagged = append(tagged, ipv4...)
	qinqOuter := append(append(append([]byte{}, macDst...), macSrc...), 0x88, 0xa8, 0x00, 0xc8)
	qinqOuter = append(qinqOuter, ethFrame(0x8100, append([]byte{0x01, 0x2c, 0x08, 0x00}, ipv4...))[12:]...)

	tests := []struct {
		name    string
		spec    slotSpec
		fr      framing
		want    []byte
		wantDir decode.Direction
		wantLen int
	}{
		{
			name: "ethernet host", fr: framingEthernet,
			spec: slotSpec{mac: 102, net: 116, pkttype: pktHost, frame: plain},
			want: plain, wantDir: decode.DirIn, wantLen: len(plain),
		},
		{
			name: "ethernet outgoing truncated", fr: framingEthernet,
			spec: slotSpec{mac: 102, net: 116, pkttype: pktOutgoing, frame: plain[:20], origLen: 1500},
			want: plain[:20], wantDir: decode.DirOut, wantLen: 1500,
		},
		{
			name: "broadcast is unknown", fr: framingEthernet,
			spec: slotSpec{mac: 102, net: 116, pkttype: 1, frame: plain},
			want: plain, wantDir: decode.DirUnknown, wantLen: len(plain),
		},
		{
			name: "vlan tag put back", fr: framingEthernet,
			spec: slotSpec{mac: 102, net: 116, status: statusVlanValid, tci: 0x6064, frame: plain},
			want: tagged, wantDir: decode.DirIn, wantLen: len(tagged),
		},
		{
			name: "qinq outer tpid put back", fr: framingEthernet,
			spec: slotSpec{mac: 102, net: 116, status: statusVlanValid | statusTPIDValid, tci: 200, tpid: 0x88a8,
				frame: ethFrame(0x8100, append([]byte{0x01, 0x2c, 0x08, 0x00}, ipv4...))},
			want: qinqOuter, wantDir: decode.DirIn, wantLen: len(qinqOuter),
		},
		{
			name: "raw ip", fr: framingRaw,
			spec: slotSpec{mac: 116, net: 116, frame: ipv4},
			want: ipv4, wantDir: decode.DirIn, wantLen: len(ipv4),
		},
		{
			name: "cooked", fr: framingCooked,
			spec:    slotSpec{mac: 102, net: 116, pkttype: pktOutgoing, proto: 0x0800, hatype: 1, addr: macSrc, frame: ethFrame(0x0800, ipv4)},
			want:    append([]byte{0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x08, 0x00}, ipv4...),
			wantDir: decode.DirOut, wantLen: 16 + len(ipv4),
		},
		{
			name: "cooked headerless device", fr: framingCooked,
			spec:    slotSpec{mac: 116, net: 116, proto: 0x0800, hatype: 0xfffe, frame: ipv4},
			want:    append([]byte{0, 0, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00}, ipv4...),
			wantDir: decode.DirIn, wantLen: 16 + len(ipv4),
		},
		{
			name: "cooked vlan", fr: framingCooked,
			spec:    slotSpec{mac: 102, net: 116, status: statusVlanValid, tci: 100, proto: 0x9999, hatype: 1, addr: macSrc, frame: ethFrame(0x0800, ipv4)},
			want:    append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x81, 0x00, 0, 100, 0x08, 0x00}, ipv4...),
			wantDir: decode.DirIn, wantLen: 20 + len(ipv4),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := slotBytes(tt.spec)
			s, ok := parseSlot(b, 0, tt.fr)
			if !ok {
				t.Fatal("parseSlot rejected a valid slot")
			}
			got := b[s.start : s.start+s.capLen]
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("frame\n got % x\nwant % x", got, tt.want)
			}
			if s.dir != tt.wantDir || s.origLen != tt.wantLen || s.sec != 1700000000 || s.nsec != 123456789 {
				t.Fatalf("dir %v origLen %d ts %d.%d", s.dir, s.origLen, s.sec, s.nsec)
			}
		})
	}
}

func TestParseSlotRejects(t *testing.T) {
	good := slotBytes(slotSpec{mac: 102, net: 116, frame: ethFrame(0x0800, ipv4)})
	tests := []struct {
		name string
		b    []byte
		off  int
		fr   framing
	}{
		{"short", good[:40], 0, framingEthernet},
		{"offset past end", good, len(good), framingEthernet},
		{"negative offset", good, -1, framingEthernet},
		{"mac inside header", slotBytes(slotSpec{mac: 40, net: 116, frame: ipv4}), 0, framingEthernet},
		{"snaplen past end", good[:120], 0, framingEthernet},
		{"cooked without room", slotBytes(slotSpec{mac: 70, net: 70, frame: ipv4}), 0, framingCooked},
		{"cooked net before mac", slotBytes(slotSpec{mac: 102, net: 90, frame: ipv4}), 0, framingCooked},
		{"cooked net past frame", slotBytes(slotSpec{mac: 102, net: 200, frame: ipv4}), 0, framingCooked},
	}
	for _, tt := range tests {
		if _, ok := parseSlot(tt.b, tt.off, tt.fr); ok {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// FuzzParseSlot checks that any header bytes yield either a rejection or a
// frame extent inside the slot, never a panic.
func FuzzParseSlot(f *testing.F) {
	f.Add(slotBytes(slotSpec{mac: 102, net: 116, frame: ethFrame(0x0800, ipv4)}), uint8(0))
	f.Add(slotBytes(slotSpec{mac: 102, net: 116, status: statusVlanValid, frame: ethFrame(0x0800, ipv4)}), uint8(0))
	f.Add(slotBytes(slotSpec{mac: 116, net: 116, status: statusVlanValid, frame: ipv4}), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, fr uint8) {
		s, ok := parseSlot(b, 0, framing(fr%3))
		if !ok {
			return
		}
		if s.start < sllEnd || s.capLen < 0 || s.start+s.capLen > len(b) {
			t.Fatalf("extent [%d,+%d) outside slot of %d", s.start, s.capLen, len(b))
		}
	})
}

func TestParseSlotAllocs(t *testing.T) {
	b := slotBytes(slotSpec{mac: 102, net: 116, status: statusVlanValid, frame: ethFrame(0x0800, ipv4)})
	fresh := append([]byte{}, b...)
	if n := testing.AllocsPerRun(100, func() {
		copy(b, fresh)
		parseSlot(b, 0, framingEthernet)
	}); n != 0 {
		t.Fatalf("parseSlot allocates %v times", n)
	}
}
