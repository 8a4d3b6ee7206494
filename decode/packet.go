package decode

import (
	"net/netip"
	"strconv"
	"time"
)

// LinkType identifies the framing of a captured frame. The values are the
// pcap LINKTYPE_* numbers so file and live sources can pass them through.
type LinkType uint16

const (
	LinkEthernet  LinkType = 1
	LinkRaw       LinkType = 101 // raw IPv4/IPv6, version nibble decides
	LinkLinuxSLL  LinkType = 113
	LinkLinuxSLL2 LinkType = 276
	LinkIPv4      LinkType = 228
	LinkIPv6      LinkType = 229
	LinkNull      LinkType = 0   // BSD loopback, 4-byte host-order family
	LinkLoop      LinkType = 108 // OpenBSD loopback, same header in network order
)

func (l LinkType) String() string {
	switch l {
	case LinkEthernet:
		return "ethernet"
	case LinkRaw:
		return "raw"
	case LinkLinuxSLL:
		return "linux-sll"
	case LinkLinuxSLL2:
		return "linux-sll2"
	case LinkIPv4:
		return "ipv4"
	case LinkIPv6:
		return "ipv6"
	case LinkNull:
		return "null"
	case LinkLoop:
		return "loop"
	}
	return "linktype-" + strconv.Itoa(int(l))
}

// L3 is the network layer of a packet.
type L3 uint8

const (
	L3Other L3 = iota
	L3IPv4
	L3IPv6
)

func (l L3) String() string {
	switch l {
	case L3IPv4:
		return "ipv4"
	case L3IPv6:
		return "ipv6"
	}
	return "other"
}

// L4 is the transport layer of a packet.
type L4 uint8

const (
	L4Other L4 = iota
	L4UDP
	L4TCP
	L4ICMP // ICMP for IPv4, ICMPv6 for IPv6
	L4None // no transport header reached (non-first fragment, or non-IP)
)

func (l L4) String() string {
	switch l {
	case L4UDP:
		return "udp"
	case L4TCP:
		return "tcp"
	case L4ICMP:
		return "icmp"
	case L4None:
		return "none"
	}
	return "other"
}

// Direction says whether a packet travels toward the monitored host, away from
// it, or neither can be told. It is decided by the input (host_spec, TC hook
// side), not by the decoder.
type Direction uint8

const (
	DirUnknown Direction = iota
	DirIn                // toward the host ("toHost")
	DirOut               // from the host ("fromHost")
)

func (d Direction) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	}
	return "unknown"
}

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
)

// MaxVLANs bounds the VLAN tags recorded; deeper stacks are still skipped.
const MaxVLANs = 2

// Packet is the decoded view of one frame. Slices (Payload, L3Data, L4Data) alias the
// frame buffer: they are valid only as long as the buffer they were decoded
// from (see capture.Source for who owns it).
type Packet struct {
	Timestamp time.Time
	CapLen    int // bytes captured
	OrigLen   int // bytes on the wire (>= CapLen)

	Dir Direction // set by the input, not by Decode

	// Link layer.
	// SrcMAC is the Ethernet source address; HasSrcMAC is false for links
	// without one (cooked, raw IP, loopback). DHCP's top_servers needs it.
	SrcMAC    [6]byte
	HasSrcMAC bool
	EtherType uint16           // innermost; synthesized for links without one (raw IP, loopback)
	VLANs     [MaxVLANs]uint16 // VLAN IDs, outermost first
	NumVLANs  uint8            // tags recorded in VLANs; deeper tags are skipped

	// Network layer.
	L3       L3
	Src, Dst netip.Addr
	IPProto  uint8  // final next-header / protocol value
	TOS      uint8  // IPv4 TOS / IPv6 traffic class
	TTL      uint8  // IPv4 TTL / IPv6 hop limit
	IPLen    int    // IP total length (incl. header); the captured length if the header says 0 (offload)
	Fragment bool   // any fragment (first or later)
	FragOff  uint16 // fragment offset in 8-byte units, as on the wire
	MoreFrag bool
	FragID   uint32 // IPv4 identification or IPv6 fragment header id

	// L3Data is the IP datagram from its first header byte, clipped to the
	// capture and to IPLen. L4Data is the part after the IP header and any
	// IPv6 extension headers: the transport header onward, or a later
	// fragment's data. Both are nil when the frame is not IP or the
	// respective start was not reached.
	L3Data []byte
	L4Data []byte

	// Transport layer.
	L4       L4
	SrcPort  uint16
	DstPort  uint16
	TCPFlags uint8
	TCPSeq   uint32
	TCPAck   uint32
	ICMPType uint8
	ICMPCode uint8

	// Payload is the transport payload (UDP/TCP data; for ICMP and ICMPv6
	// everything after type, code and checksum), clipped to what was
	// captured, to the IP length and to the UDP length.
	Payload []byte
}

// Reset clears p for reuse without releasing anything.
func (p *Packet) Reset() { *p = Packet{} }

// IsFirstFragment reports whether p carries the transport header of a
// fragmented datagram.
func (p *Packet) IsFirstFragment() bool { return p.Fragment && p.FragOff == 0 }
