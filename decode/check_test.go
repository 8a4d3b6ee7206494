package decode

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"reflect"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// within reports whether s is nil or a subslice of data. It relies on
// Decode never using three-index slices, so cap(s) locates s in data.
func within(data, s []byte) bool {
	if s == nil {
		return true
	}
	start := cap(data) - cap(s)
	if start < 0 || start+len(s) > len(data) {
		return false
	}
	if start == cap(data) {
		return len(s) == 0
	}
	return &data[:cap(data)][start] == &s[:cap(s)][0]
}

// offset is where s starts in data (valid only if within(data, s)).
func offset(data, s []byte) int { return cap(data) - cap(s) }

// checkInvariants checks what must hold for every frame, good or bad.
func checkInvariants(link LinkType, data []byte, p *Packet, err error) error {
	if err != nil {
		var le LayerError
		if !errors.As(err, &le) {
			return fmt.Errorf("error %v (%T) is not a LayerError", err, err)
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedLink) {
			return fmt.Errorf("error %v wraps no sentinel", err)
		}
		if p.Payload != nil {
			return fmt.Errorf("payload set despite error %v", err)
		}
	}
	if p.CapLen != len(data) || p.OrigLen != len(data) {
		return fmt.Errorf("CapLen/OrigLen = %d/%d, want %d", p.CapLen, p.OrigLen, len(data))
	}
	if p.NumVLANs > MaxVLANs {
		return fmt.Errorf("NumVLANs = %d", p.NumVLANs)
	}
	for name, s := range map[string][]byte{"Payload": p.Payload, "L3Data": p.L3Data, "L4Data": p.L4Data} {
		if !within(data, s) {
			return fmt.Errorf("%s is not a subslice of the frame", name)
		}
	}
	// Payload ⊆ L4Data ⊆ L3Data.
	nested := func(outer, inner []byte) bool {
		if inner == nil {
			return true
		}
		return outer != nil && offset(data, inner) >= offset(data, outer) &&
			offset(data, inner)+len(inner) <= offset(data, outer)+len(outer)
	}
	if !nested(p.L4Data, p.Payload) || !nested(p.L3Data, p.L4Data) {
		return fmt.Errorf("slices not nested: L3 [%d+%d] L4 [%d+%d] payload [%d+%d]",
			offset(data, p.L3Data), len(p.L3Data), offset(data, p.L4Data), len(p.L4Data),
			offset(data, p.Payload), len(p.Payload))
	}
	switch p.L3 {
	case L3Other:
		if p.Src.IsValid() || p.Dst.IsValid() || p.L4 != L4None || p.L3Data != nil {
			return fmt.Errorf("non-IP packet carries IP fields: %+v", *p)
		}
	case L3IPv4, L3IPv6:
		if p.L3Data != nil && len(p.L3Data) > p.IPLen {
			return fmt.Errorf("L3Data %d bytes exceeds IPLen %d", len(p.L3Data), p.IPLen)
		}
		if p.Src.IsValid() && (p.Src.Is4() != (p.L3 == L3IPv4) || p.Dst.Is4() != (p.L3 == L3IPv4)) {
			return fmt.Errorf("%v packet with addresses %v > %v", p.L3, p.Src, p.Dst)
		}
	}
	if p.L4 == L4None && (p.SrcPort != 0 || p.DstPort != 0 || p.Payload != nil) {
		return fmt.Errorf("L4None with ports or payload: %+v", *p)
	}
	if p.L4 != L4None && p.L4Data == nil {
		return fmt.Errorf("%v without L4Data", p.L4)
	}
	if p.Fragment && p.FragOff != 0 && p.L4 != L4None {
		return fmt.Errorf("later fragment decoded as %v", p.L4)
	}

	// Decoding is a pure function of the input, whatever p held before.
	again := Packet{SrcPort: 1, Payload: data, L3: L3IPv6}
	if err2 := Decode(link, data, &again); err2 != err || !reflect.DeepEqual(again, *p) {
		return fmt.Errorf("second decode differs: err %v vs %v", err2, err)
	}

	// FlowHash ignores direction.
	sw := *p
	sw.Src, sw.Dst, sw.SrcPort, sw.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	if sw.FlowHash() != p.FlowHash() {
		return errors.New("FlowHash depends on direction")
	}
	return nil
}

// crossCheck decodes data with gopacket, an independent decoder, and
// returns an error unless it agrees with p on the link, network and
// transport facts. Call it only for frames Decode accepted.
func crossCheck(link LinkType, data []byte, p *Packet) error {
	var first gopacket.Decoder = layers.LinkType(link)
	switch link { // gopacket has no decoder registered for these two
	case LinkIPv4:
		first = layers.LayerTypeIPv4
	case LinkIPv6:
		first = layers.LayerTypeIPv6
	}
	pkt := gopacket.NewPacket(data, first, gopacket.DecodeOptions{NoCopy: true})
	ls := pkt.Layers()

	var vlans []uint16
	i := 0
l2:
	for ; i < len(ls); i++ {
		switch l := ls[i].(type) {
		case *layers.Dot1Q:
			vlans = append(vlans, l.VLANIdentifier)
		case *layers.IPv4, *layers.IPv6:
			break l2
		}
	}
	if n := min(len(vlans), MaxVLANs); int(p.NumVLANs) != n || !slicesEqual(p.VLANs[:p.NumVLANs], vlans[:n]) {
		return fmt.Errorf("VLANs %v, gopacket %v", p.VLANs[:p.NumVLANs], vlans)
	}
	if i == len(ls) {
		if p.L3 != L3Other {
			return fmt.Errorf("L3 %v, gopacket found no IP layer (%v)", p.L3, pkt)
		}
		return nil
	}

	var src, dst netip.Addr
	var wantL3 L3
	var proto uint8
	switch l := ls[i].(type) {
	case *layers.IPv4:
		wantL3, proto = L3IPv4, uint8(l.Protocol)
		src, _ = netip.AddrFromSlice(l.SrcIP)
		dst, _ = netip.AddrFromSlice(l.DstIP)
	case *layers.IPv6:
		wantL3, proto = L3IPv6, uint8(l.NextHeader)
		src, _ = netip.AddrFromSlice(l.SrcIP)
		dst, _ = netip.AddrFromSlice(l.DstIP)
	}
	if p.L3 != wantL3 || p.Src != src || p.Dst != dst {
		return fmt.Errorf("L3 %v %v > %v, gopacket %v %v > %v", p.L3, p.Src, p.Dst, wantL3, src, dst)
	}

	// Walk past IPv6 extension headers to the transport layer.
	var l4 gopacket.Layer
	for i++; i < len(ls); i++ {
		switch l := ls[i].(type) {
		case *layers.IPv6HopByHop, *layers.IPv6Routing, *layers.IPv6Destination, *layers.IPSecAH:
			proto = uint8(nextHeaderOf(l))
			continue
		case *layers.IPv6Fragment:
			proto = uint8(l.NextHeader)
			continue
		}
		l4 = ls[i]
		break
	}
	if p.IPProto != proto {
		return fmt.Errorf("IPProto %d, gopacket %d", p.IPProto, proto)
	}
	if l4 != nil && l4.LayerType() == gopacket.LayerTypeFragment {
		// gopacket's packet path calls even an IPv6 atomic fragment
		// (offset 0, no more) a Fragment; Decode rightly does not.
		if !p.Fragment && p.L3 != L3IPv6 {
			return errors.New("gopacket sees a fragment, Decode does not")
		}
		if p.FragOff != 0 {
			if p.L4 != L4None {
				return fmt.Errorf("later fragment decoded as %v", p.L4)
			}
			return nil
		}
		// gopacket stops at every fragment; decode the first one's
		// (or the atomic one's) transport header on its own to compare.
		lt := layers.IPProtocol(proto).LayerType()
		if proto == ProtoICMP && p.L3 == L3IPv6 || proto == ProtoICMPv6 && p.L3 == L3IPv4 {
			lt = gopacket.LayerTypePayload
		}
		l4 = gopacket.NewPacket(l4.LayerContents(), lt, gopacket.DecodeOptions{NoCopy: true}).Layers()[0]
	} else if p.Fragment && p.FragOff != 0 {
		return errors.New("Decode sees a later fragment, gopacket does not")
	}

	switch l := l4.(type) {
	case *layers.UDP:
		return expectL4(p, L4UDP, uint16(l.SrcPort), uint16(l.DstPort), l.Payload)
	case *layers.TCP:
		if err := expectL4(p, L4TCP, uint16(l.SrcPort), uint16(l.DstPort), l.Payload); err != nil {
			return err
		}
		if p.TCPSeq != l.Seq || p.TCPAck != l.Ack || p.TCPFlags&0x3f != tcpFlags(l) {
			return fmt.Errorf("TCP seq/ack/flags %d/%d/%#x, gopacket %d/%d/%#x", p.TCPSeq, p.TCPAck, p.TCPFlags, l.Seq, l.Ack, tcpFlags(l))
		}
	case *layers.ICMPv4:
		if err := expectL4(p, L4ICMP, 0, 0, nil); err != nil {
			return err
		}
		if p.ICMPType != l.TypeCode.Type() || p.ICMPCode != l.TypeCode.Code() {
			return fmt.Errorf("ICMP %d/%d, gopacket %v", p.ICMPType, p.ICMPCode, l.TypeCode)
		}
	case *layers.ICMPv6:
		if err := expectL4(p, L4ICMP, 0, 0, nil); err != nil {
			return err
		}
		if p.ICMPType != l.TypeCode.Type() || p.ICMPCode != l.TypeCode.Code() {
			return fmt.Errorf("ICMPv6 %d/%d, gopacket %v", p.ICMPType, p.ICMPCode, l.TypeCode)
		}
	default:
		if p.L4 != L4Other {
			return fmt.Errorf("L4 %v, gopacket found %v", p.L4, l4)
		}
	}
	return nil
}

func expectL4(p *Packet, l4 L4, sport, dport uint16, payload []byte) error {
	if p.L4 != l4 {
		return fmt.Errorf("L4 %v, gopacket %v", p.L4, l4)
	}
	if p.SrcPort != sport || p.DstPort != dport {
		return fmt.Errorf("ports %d > %d, gopacket %d > %d", p.SrcPort, p.DstPort, sport, dport)
	}
	if l4 == L4ICMP {
		return nil // gopacket puts 4 more ICMPv4 bytes in the header
	}
	if !bytes.Equal(p.Payload, payload) {
		return fmt.Errorf("payload %d bytes, gopacket %d bytes", len(p.Payload), len(payload))
	}
	return nil
}

func nextHeaderOf(l gopacket.Layer) layers.IPProtocol {
	switch l := l.(type) {
	case *layers.IPv6HopByHop:
		return l.NextHeader
	case *layers.IPv6Routing:
		return l.NextHeader
	case *layers.IPv6Destination:
		return l.NextHeader
	case *layers.IPSecAH:
		return l.NextHeader
	}
	return 0
}

func tcpFlags(l *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		set  bool
		flag uint8
	}{{l.FIN, TCPFin}, {l.SYN, TCPSyn}, {l.RST, TCPRst}, {l.PSH, TCPPsh}, {l.ACK, TCPAck}, {l.URG, TCPUrg}} {
		if b.set {
			f |= b.flag
		}
	}
	return f
}

func slicesEqual(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
