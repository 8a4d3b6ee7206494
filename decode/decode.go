package decode

import (
	"encoding/binary"
	"net/netip"
)

// EtherType values the decoder dispatches on.
const (
	EtherTypeIPv4     = 0x0800
	EtherTypeIPv6     = 0x86dd
	EtherTypeVLAN     = 0x8100 // 802.1Q
	EtherTypeQinQ     = 0x88a8 // 802.1ad service tag
	EtherTypeQinQOld  = 0x9100 // pre-standard QinQ, still seen in the wild
	etherTypeMinValue = 0x0600 // below this the field is an 802.3 length
)

// IP protocol numbers the decoder understands.
const (
	ProtoICMP     = 1
	ProtoTCP      = 6
	ProtoUDP      = 17
	ProtoICMPv6   = 58
	protoHopOpts  = 0
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoDstOpts  = 60
)

// MaxIPv6ExtHeaders bounds the IPv6 extension-header walk so a hostile chain
// cannot make one packet arbitrarily expensive. Real traffic uses one or two.
const MaxIPv6ExtHeaders = 8

// Header sizes.
const (
	ethernetLen = 14
	vlanTagLen  = 4
	sllLen      = 16
	sll2Len     = 20
	nullLen     = 4
	ipv4MinLen  = 20
	ipv6Len     = 40
	udpLen      = 8
	tcpMinLen   = 20
	icmpLen     = 4 // type, code, checksum: common to ICMP and ICMPv6
)

// Address families seen in the BSD null/loopback header. IPv6 has no single
// value: each BSD picked its own, and Linux uses 10.
const (
	afInet        = 2
	afInet6Linux  = 10
	afInet6BSD    = 24
	afInet6FBSD   = 28
	afInet6Darwin = 30
)

var be = binary.BigEndian

// Decode decodes one captured frame of the given link type into p.
//
// p is cleared first, so fields the input owns (Timestamp, OrigLen, Dir) must
// be set after Decode; CapLen and OrigLen default to len(data).
//
// On error p holds everything decoded before the failing header: a frame
// whose TCP header is cut short still reports its addresses, L4TCP and
// IPProto, with ports left zero. The error is a LayerError; test it with
// errors.Is against ErrTruncated, ErrMalformed or ErrUnsupportedLink.
//
// Decode never allocates, and p's slices alias data (see the package doc).
func Decode(link LinkType, data []byte, p *Packet) error {
	*p = Packet{CapLen: len(data), OrigLen: len(data), L4: L4None}
	switch link {
	case LinkEthernet:
		return decodeEthernet(data, p)
	case LinkLinuxSLL:
		return decodeSLL(data, p)
	case LinkLinuxSLL2:
		return decodeSLL2(data, p)
	case LinkRaw:
		return decodeRawIP(data, p)
	case LinkIPv4:
		p.EtherType = EtherTypeIPv4
		return decodeIPv4(data, p)
	case LinkIPv6:
		p.EtherType = EtherTypeIPv6
		return decodeIPv6(data, p)
	case LinkNull, LinkLoop:
		return decodeNull(data, p)
	}
	return layerErr(LayerLink, kindUnsupportedLink)
}

func decodeEthernet(b []byte, p *Packet) error {
	if len(b) < ethernetLen {
		return layerErr(LayerEthernet, kindTruncated)
	}
	copy(p.SrcMAC[:], b[6:12])
	p.HasSrcMAC = true
	return decodeEtherType(be.Uint16(b[12:]), b[ethernetLen:], p)
}

// decodeLinuxSLL decodes the 16-byte Linux cooked v1 header. Its protocol
// field is an EtherType for every ARPHRD the kernel tags with IP.
func decodeSLL(b []byte, p *Packet) error {
	if len(b) < sllLen {
		return layerErr(LayerLinuxSLL, kindTruncated)
	}
	return decodeEtherType(be.Uint16(b[14:]), b[sllLen:], p)
}

// decodeSLL2 decodes the 20-byte Linux cooked v2 header, which moves the
// protocol to the front and adds the interface index.
func decodeSLL2(b []byte, p *Packet) error {
	if len(b) < sll2Len {
		return layerErr(LayerLinuxSLL2, kindTruncated)
	}
	return decodeEtherType(be.Uint16(b[0:]), b[sll2Len:], p)
}

// decodeEtherType skips any VLAN tags, then dispatches on the inner type.
// Every tag consumes four bytes, so the loop ends with the buffer.
func decodeEtherType(et uint16, b []byte, p *Packet) error {
	for et == EtherTypeVLAN || et == EtherTypeQinQ || et == EtherTypeQinQOld {
		if len(b) < vlanTagLen {
			p.EtherType = et
			return layerErr(LayerVLAN, kindTruncated)
		}
		if p.NumVLANs < MaxVLANs {
			p.VLANs[p.NumVLANs] = be.Uint16(b) & 0x0fff
			p.NumVLANs++
		}
		et = be.Uint16(b[2:])
		b = b[vlanTagLen:]
	}
	if et < etherTypeMinValue {
		// 802.3 length field (LLC/SNAP follows): not IP, and not an error.
		return nil
	}
	p.EtherType = et
	switch et {
	case EtherTypeIPv4:
		return decodeIPv4(b, p)
	case EtherTypeIPv6:
		return decodeIPv6(b, p)
	}
	return nil
}

// decodeNull decodes the BSD loopback header: an address family in the
// capturing host's byte order (network order for LinkLoop), which the reader
// cannot always know. Families are small, so whichever order yields a value
// below 2^16 is the right one.
func decodeNull(b []byte, p *Packet) error {
	if len(b) < nullLen {
		return layerErr(LayerNull, kindTruncated)
	}
	fam := binary.LittleEndian.Uint32(b)
	if fam > 0xffff {
		fam = be.Uint32(b)
	}
	switch fam {
	case afInet:
		p.EtherType = EtherTypeIPv4
		return decodeIPv4(b[nullLen:], p)
	case afInet6Linux, afInet6BSD, afInet6FBSD, afInet6Darwin:
		p.EtherType = EtherTypeIPv6
		return decodeIPv6(b[nullLen:], p)
	}
	return nil
}

func decodeRawIP(b []byte, p *Packet) error {
	if len(b) < 1 {
		return layerErr(LayerIP, kindTruncated)
	}
	switch b[0] >> 4 {
	case 4:
		p.EtherType = EtherTypeIPv4
		return decodeIPv4(b, p)
	case 6:
		p.EtherType = EtherTypeIPv6
		return decodeIPv6(b, p)
	}
	return layerErr(LayerIP, kindMalformed)
}

func decodeIPv4(b []byte, p *Packet) error {
	p.L3 = L3IPv4
	if len(b) < ipv4MinLen {
		return layerErr(LayerIPv4, kindTruncated)
	}
	if b[0]>>4 != 4 {
		return layerErr(LayerIPv4, kindMalformed)
	}
	p.TOS = b[1]
	p.TTL = b[8]
	p.IPProto = b[9]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if frag := be.Uint16(b[6:]); frag&0x3fff != 0 {
		p.Fragment = true
		p.MoreFrag = frag&0x2000 != 0
		p.FragOff = frag & 0x1fff
		p.FragID = uint32(be.Uint16(b[4:]))
	}

	hlen := int(b[0]&0x0f) * 4
	total := int(be.Uint16(b[2:]))
	if total == 0 {
		// Segmentation offload hands the capture point a super-packet whose
		// length field the NIC fills in later; the capture is the datagram.
		total = len(b)
	}
	p.IPLen = total
	if hlen < ipv4MinLen || total < hlen {
		return layerErr(LayerIPv4, kindMalformed)
	}
	if hlen > len(b) {
		return layerErr(LayerIPv4, kindTruncated)
	}
	// Clip to the stated length so link-layer padding never reaches L4.
	b = b[:min(total, len(b))]
	p.L3Data = b
	if p.FragOff != 0 {
		p.L4Data = b[hlen:]
		return nil
	}
	return decodeTransport(p.IPProto, false, b[hlen:], p)
}

func decodeIPv6(b []byte, p *Packet) error {
	p.L3 = L3IPv6
	if len(b) < ipv6Len {
		return layerErr(LayerIPv6, kindTruncated)
	}
	if b[0]>>4 != 6 {
		return layerErr(LayerIPv6, kindMalformed)
	}
	p.TOS = b[0]<<4 | b[1]>>4
	next := b[6]
	p.IPProto = next
	p.TTL = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	total := ipv6Len + int(be.Uint16(b[4:]))
	if total == ipv6Len {
		// Zero payload length: a jumbogram or an offloaded super-packet.
		// Either way the capture is the best bound there is.
		total = len(b)
	}
	p.IPLen = total
	b = b[:min(total, len(b))]
	p.L3Data = b

	off := ipv6Len
	for n := 0; ; n++ {
		if !isIPv6Ext(next) {
			return decodeTransport(next, true, b[off:], p)
		}
		if n == MaxIPv6ExtHeaders {
			return layerErr(LayerIPv6Ext, kindMalformed)
		}
		if off+2 > len(b) {
			return layerErr(LayerIPv6Ext, kindTruncated)
		}
		var hlen int
		switch next {
		case protoFragment:
			hlen = 8
		case protoAH:
			hlen = (int(b[off+1]) + 2) * 4
		default:
			hlen = (int(b[off+1]) + 1) * 8
		}
		if off+hlen > len(b) {
			return layerErr(LayerIPv6Ext, kindTruncated)
		}
		if next == protoFragment {
			fo := be.Uint16(b[off+2:])
			p.FragOff = fo >> 3
			p.MoreFrag = fo&1 != 0
			p.FragID = be.Uint32(b[off+4:])
			// An "atomic" fragment (offset 0, no more) is a whole datagram.
			p.Fragment = p.FragOff != 0 || p.MoreFrag
		}
		next = b[off]
		off += hlen
		p.IPProto = next
		if p.FragOff != 0 {
			// Later fragments carry the rest of the payload, not a header.
			p.L4Data = b[off:]
			return nil
		}
	}
}

// isIPv6Ext reports whether proto is an extension header the walk skips.
// ESP is not: what follows it is encrypted, so it ends the walk as L4Other.
func isIPv6Ext(proto uint8) bool {
	switch proto {
	case protoHopOpts, protoRouting, protoFragment, protoAH, protoDstOpts:
		return true
	}
	return false
}

// decodeTransport decodes the header of protocol proto at the start of b,
// which is already clipped to the IP datagram.
func decodeTransport(proto uint8, v6 bool, b []byte, p *Packet) error {
	p.L4Data = b
	switch {
	case proto == ProtoUDP:
		p.L4 = L4UDP
		return decodeUDP(b, p)
	case proto == ProtoTCP:
		p.L4 = L4TCP
		return decodeTCP(b, p)
	case proto == ProtoICMP && !v6:
		p.L4 = L4ICMP
		return decodeICMP(b, p, LayerICMP)
	case proto == ProtoICMPv6 && v6:
		p.L4 = L4ICMP
		return decodeICMP(b, p, LayerICMPv6)
	}
	p.L4 = L4Other
	return nil
}

func decodeUDP(b []byte, p *Packet) error {
	if len(b) < udpLen {
		return layerErr(LayerUDP, kindTruncated)
	}
	p.SrcPort = be.Uint16(b[0:])
	p.DstPort = be.Uint16(b[2:])
	end := len(b)
	// Zero is legal for IPv6 jumbograms; otherwise the UDP length may only
	// shorten what IP said, never extend it.
	if ulen := int(be.Uint16(b[4:])); ulen != 0 {
		if ulen < udpLen {
			return layerErr(LayerUDP, kindMalformed)
		}
		end = min(end, ulen)
	}
	p.Payload = b[udpLen:end]
	return nil
}

func decodeTCP(b []byte, p *Packet) error {
	if len(b) < tcpMinLen {
		return layerErr(LayerTCP, kindTruncated)
	}
	p.SrcPort = be.Uint16(b[0:])
	p.DstPort = be.Uint16(b[2:])
	p.TCPSeq = be.Uint32(b[4:])
	p.TCPAck = be.Uint32(b[8:])
	p.TCPFlags = b[13]
	hlen := int(b[12]>>4) * 4
	if hlen < tcpMinLen {
		return layerErr(LayerTCP, kindMalformed)
	}
	if hlen > len(b) {
		return layerErr(LayerTCP, kindTruncated)
	}
	p.Payload = b[hlen:]
	return nil
}

func decodeICMP(b []byte, p *Packet, l Layer) error {
	if len(b) < icmpLen {
		return layerErr(l, kindTruncated)
	}
	p.ICMPType = b[0]
	p.ICMPCode = b[1]
	p.Payload = b[icmpLen:]
	return nil
}
