package afpacket

import (
	"encoding/binary"

	"github.com/visorng/visor/decode"
)

// TPACKET_V3 layout (linux/if_packet.h). The ring is in host byte order.
const (
	// struct tpacket_block_desc with tpacket_hdr_v1
	bdBlockStatus = 8
	bdNumPkts     = 12
	bdFirstPkt    = 16
	bdBlkLen      = 20
	bdLen         = 48

	// struct tpacket3_hdr
	thNextOffset = 0
	thSec        = 4
	thNsec       = 8
	thSnaplen    = 12
	thLen        = 16
	thStatus     = 20
	thMac        = 24
	thNet        = 26
	thVlanTCI    = 32
	thVlanTPID   = 36
	thLenAligned = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))

	// struct sockaddr_ll, right after the aligned header
	sllProtocol = thLenAligned + 2
	sllHatype   = thLenAligned + 8
	sllPkttype  = thLenAligned + 10
	sllHalen    = thLenAligned + 11
	sllAddr     = thLenAligned + 12
	sllEnd      = thLenAligned + 20 // TPACKET3_HDRLEN

	statusUser      = 0x1
	statusVlanValid = 0x10
	statusTPIDValid = 0x40

	// sll_pkttype values
	pktHost     = 0
	pktOutgoing = 4

	arphrdEther    = 1
	arphrdLoopback = 772

	vlanTagLen  = 4
	sllHdrLen   = 16
	tpidDot1Q   = 0x8100
	reserveSize = sllHdrLen + vlanTagLen // room in front of every frame
)

// framing says how to turn a ring slot into a frame of the source's link
// type.
type framing uint8

const (
	framingEthernet framing = iota // SOCK_RAW on an Ethernet-like device
	framingRaw                     // SOCK_RAW on a device without link header
	framingCooked                  // any interface; an SLL header replaces the link header
)

func (fr framing) linkType() decode.LinkType {
	switch fr {
	case framingRaw:
		return decode.LinkRaw
	case framingCooked:
		return decode.LinkLinuxSLL
	}
	return decode.LinkEthernet
}

// slot is one frame of a block, as parsed from its tpacket3_hdr.
type slot struct {
	next    uint32 // offset of the next frame from this one, 0 for the last
	sec     uint32
	nsec    uint32
	capLen  int
	origLen int
	start   int // offset of the frame's first byte from the slot header
	dir     decode.Direction
	vlan    bool // the kernel had stripped a VLAN tag, now put back
}

// parseSlot reads the frame header at b[off:] and, for VLAN-accelerated or
// cooked frames, rewrites the bytes in front of the frame (the PACKET_RESERVE
// gap, which belongs to user space once the block does) so that the returned
// extent b[off+start : off+start+capLen] is the frame in the source's link
// type. ok is false when the header does not fit in b, which only a kernel
// ABI mismatch could cause.
func parseSlot(b []byte, off int, fr framing) (s slot, ok bool) {
	if off < 0 || off > len(b)-sllEnd {
		return s, false
	}
	h := b[off:]
	ne := binary.NativeEndian
	s.next = ne.Uint32(h[thNextOffset:])
	s.sec = ne.Uint32(h[thSec:])
	s.nsec = ne.Uint32(h[thNsec:])
	s.capLen = int(ne.Uint32(h[thSnaplen:]))
	s.origLen = int(ne.Uint32(h[thLen:]))
	status := ne.Uint32(h[thStatus:])
	mac := int(ne.Uint16(h[thMac:]))
	net := int(ne.Uint16(h[thNet:]))
	if mac < sllEnd || mac > len(h) || s.capLen > len(h)-mac {
		return s, false
	}
	if fr == framingCooked && (net < mac || net-mac > s.capLen) {
		return s, false
	}
	switch h[sllPkttype] {
	case pktHost:
		s.dir = decode.DirIn
	case pktOutgoing:
		s.dir = decode.DirOut
	}
	vlan := status&statusVlanValid != 0
	s.vlan = vlan
	tpid := uint16(tpidDot1Q)
	if status&statusTPIDValid != 0 {
		tpid = ne.Uint16(h[thVlanTPID:])
	}
	tci := uint16(ne.Uint32(h[thVlanTCI:]))
	be := binary.BigEndian

	switch fr {
	case framingEthernet:
		if !vlan || s.capLen < 12 || mac-sllEnd < vlanTagLen {
			break
		}
		// Put the tag the kernel moved into metadata back between the MAC
		// addresses and the EtherType.
		copy(h[mac-vlanTagLen:mac+8], h[mac:mac+12])
		mac -= vlanTagLen
		be.PutUint16(h[mac+12:], tpid)
		be.PutUint16(h[mac+14:], tci)
		s.capLen += vlanTagLen
		s.origLen += vlanTagLen
	case framingCooked:
		// The socket is SOCK_RAW on every interface: Ethernet-like devices
		// show their MAC header (whose EtherType, unlike sll_protocol, is
		// the real next header even for QinQ), others none. Replace the
		// link header with an SLL header built from sockaddr_ll.
		hatype := ne.Uint16(h[sllHatype:])
		proto := be.Uint16(h[sllProtocol:])
		if net-mac == 14 && (hatype == arphrdEther || hatype == arphrdLoopback) {
			proto = be.Uint16(h[net-2:])
		}
		hdr := sllHdrLen
		if vlan {
			hdr += vlanTagLen
		}
		if net-sllEnd < hdr {
			return s, false
		}
		pkttype := uint16(h[sllPkttype])
		halen := h[sllHalen]
		var addr [8]byte
		copy(addr[:], h[sllAddr:sllAddr+8])
		s.capLen -= net - mac
		s.origLen -= net - mac
		mac = net - hdr
		p := h[mac:]
		be.PutUint16(p[0:], pkttype)
		be.PutUint16(p[2:], hatype)
		be.PutUint16(p[4:], uint16(halen))
		copy(p[6:14], addr[:])
		if vlan {
			be.PutUint16(p[14:], tpid)
			be.PutUint16(p[16:], tci)
			be.PutUint16(p[18:], proto)
		} else {
			be.PutUint16(p[14:], proto)
		}
		s.capLen += hdr
		s.origLen += hdr
	}
	s.start = mac
	return s, true
}
