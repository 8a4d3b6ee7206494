// Package frames builds Ethernet frames byte by byte for kernel program tests:
// VLAN/QinQ tags, IPv4 options and fragments, IPv6 extension headers, UDP,
// TCP and ICMP. Checksums are left zero; nothing here is ever sent.
package frames

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers and IPv6 extension header types used by Spec.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoGRE    = 47
	ProtoICMPv6 = 58

	ExtHopByHop = 0
	ExtRouting  = 43
	ExtFragment = 44
	ExtAH       = 51
	ExtDestOpts = 60
)

// Spec describes one frame.
type Spec struct {
	// VLANs are tag IDs, outermost first. With two tags the outer one is
	// 802.1ad (0x88a8), as in QinQ.
	VLANs    []uint16
	Src, Dst netip.Addr // both IPv4 or both IPv6
	Proto    uint8
	SrcPort  uint16
	DstPort  uint16
	SYN      bool
	Payload  []byte
	// IPv4: header options length in bytes (multiple of 4, up to 40).
	IPv4Options int
	// Fragmentation: offset in 8-byte units and the more-fragments bit.
	// IPv6 carries them in a fragment header after V6Ext.
	FragOffset uint16
	MoreFrags  bool
	// V6Ext lists IPv6 extension headers before the fragment header / L4.
	V6Ext []uint8
}

var (
	srcMAC = []byte{0x02, 0, 0, 0, 0, 1}
	dstMAC = []byte{0x02, 0, 0, 0, 0, 2}
)

// Build serializes s.
func Build(s Spec) []byte {
	var l4 []byte
	later := s.FragOffset != 0
	if !later {
		l4 = buildL4(s)
	} else {
		l4 = append([]byte(nil), s.Payload...)
	}
	if s.Src.Is4() {
		return ether(s.VLANs, 0x0800, ipv4(s, l4))
	}
	return ether(s.VLANs, 0x86dd, ipv6(s, l4))
}

// NonIP builds a frame with the given EtherType and payload.
func NonIP(vlans []uint16, etherType uint16, payload []byte) []byte {
	return ether(vlans, etherType, payload)
}

func ether(vlans []uint16, etherType uint16, payload []byte) []byte {
	b := append(append([]byte(nil), dstMAC...), srcMAC...)
	for i, id := range vlans {
		tpid := uint16(0x8100)
		if len(vlans) > 1 && i == 0 {
			tpid = 0x88a8
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, id&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

func buildL4(s Spec) []byte {
	switch s.Proto {
	case ProtoUDP:
		b := binary.BigEndian.AppendUint16(nil, s.SrcPort)
		b = binary.BigEndian.AppendUint16(b, s.DstPort)
		b = binary.BigEndian.AppendUint16(b, uint16(8+len(s.Payload)))
		b = binary.BigEndian.AppendUint16(b, 0)
		return append(b, s.Payload...)
	case ProtoTCP:
		b := binary.BigEndian.AppendUint16(nil, s.SrcPort)
		b = binary.BigEndian.AppendUint16(b, s.DstPort)
		b = binary.BigEndian.AppendUint32(b, 1) // seq
		b = binary.BigEndian.AppendUint32(b, 0) // ack
		flags := byte(0x10)                     // ACK
		if s.SYN {
			flags = 0x02
		}
		b = append(b, 5<<4, flags)
		b = binary.BigEndian.AppendUint16(b, 65535) // window
		b = append(b, 0, 0, 0, 0)                   // checksum, urgent
		return append(b, s.Payload...)
	case ProtoICMP, ProtoICMPv6:
		b := []byte{8, 0, 0, 0, 0, 1, 0, 1} // echo request
		if s.Proto == ProtoICMPv6 {
			b[0] = 128
		}
		return append(b, s.Payload...)
	}
	return append([]byte(nil), s.Payload...)
}

func ipv4(s Spec, l4 []byte) []byte {
	hl := 20 + s.IPv4Options
	b := []byte{byte(0x40 | hl/4), 0}
	b = binary.BigEndian.AppendUint16(b, uint16(hl+len(l4)))
	b = binary.BigEndian.AppendUint16(b, 0x1234) // id
	frag := s.FragOffset & 0x1fff
	if s.MoreFrags {
		frag |= 0x2000
	}
	b = binary.BigEndian.AppendUint16(b, frag)
	b = append(b, 64, s.Proto, 0, 0)
	src, dst := s.Src.As4(), s.Dst.As4()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	for i := 0; i < s.IPv4Options; i++ {
		b = append(b, 1) // NOP
	}
	return append(b, l4...)
}

func ipv6(s Spec, l4 []byte) []byte {
	type hdr struct {
		typ  uint8
		body []byte
	}
	var exts []hdr
	for _, t := range s.V6Ext {
		switch t {
		case ExtAH:
			exts = append(exts, hdr{t, make([]byte, 10)}) // 12 bytes in all: hdrlen 12/4-2 = 1
		default:
			exts = append(exts, hdr{t, make([]byte, 14)}) // 16 bytes: hdrlen 1
		}
	}
	fragmented := s.FragOffset != 0 || s.MoreFrags
	if fragmented {
		fo := s.FragOffset << 3
		if s.MoreFrags {
			fo |= 1
		}
		body := binary.BigEndian.AppendUint16([]byte{0}, fo)
		body = binary.BigEndian.AppendUint32(body, 0xabcd)
		exts = append(exts, hdr{ExtFragment, body[1:]})
	}
	var chain []byte
	for i, e := range exts {
		next := s.Proto
		if i+1 < len(exts) {
			next = exts[i+1].typ
		}
		var hdrlen byte
		switch e.typ {
		case ExtAH:
			hdrlen = byte((2+len(e.body))/4 - 2)
		case ExtFragment:
			hdrlen = 0 // reserved
		default:
			hdrlen = byte((2+len(e.body))/8 - 1)
		}
		chain = append(chain, next, hdrlen)
		chain = append(chain, e.body...)
	}
	first := s.Proto
	if len(exts) > 0 {
		first = exts[0].typ
	}
	b := []byte{0x60, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(chain)+len(l4)))
	b = append(b, first, 64)
	src, dst := s.Src.As16(), s.Dst.As16()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, chain...)
	return append(b, l4...)
}
