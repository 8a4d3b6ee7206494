// Package capgen synthesizes deterministic packet captures for tests: a
// mixed "sample" capture that exercises every decode path the net handlers
// count, and a random-qname DNS flood for hostile-input tests. Every address
// is from a documentation range (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32), and the same seed always yields the same
// bytes.
package capgen

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// encap is how a frame is carried at layer 2.
type encap uint8

const (
	encPlain encap = iota
	encVLAN        // one 802.1Q tag
	encQinQ        // 802.1ad S-tag + 802.1Q C-tag
)

// Tags used for tagged frames; fixed so the capture is reproducible.
const (
	vlanID   = 100
	sTagID   = 200
	cTagID   = 300
	snapLen  = 65535
	pcapLink = layers.LinkTypeEthernet
)

var (
	hostMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	gwMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	bcast   = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// frame is one captured record before it is written.
type frame struct {
	ts     time.Duration // offset from the capture's base time
	data   []byte
	capLen int // < len(data) for a deliberately truncated record
	seq    int // creation order: ties in ts keep it
}

// capture collects frames and writes them sorted by time.
type capture struct {
	frames []frame
}

func (c *capture) add(ts time.Duration, data []byte) {
	c.frames = append(c.frames, frame{ts: ts, data: data, capLen: len(data), seq: len(c.frames)})
}

func (c *capture) addTruncated(ts time.Duration, data []byte, capLen int) {
	c.frames = append(c.frames, frame{ts: ts, data: data, capLen: capLen, seq: len(c.frames)})
}

// write emits a classic microsecond pcap, frames in time order.
func (c *capture) write(w io.Writer, base time.Time) error {
	sort.SliceStable(c.frames, func(i, j int) bool {
		if c.frames[i].ts != c.frames[j].ts {
			return c.frames[i].ts < c.frames[j].ts
		}
		return c.frames[i].seq < c.frames[j].seq
	})
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(snapLen, pcapLink); err != nil {
		return fmt.Errorf("pcap header: %w", err)
	}
	for i, f := range c.frames {
		ci := gopacket.CaptureInfo{
			Timestamp:     base.Add(f.ts.Truncate(time.Microsecond)),
			CaptureLength: f.capLen,
			Length:        len(f.data),
		}
		if err := pw.WritePacket(ci, f.data[:f.capLen]); err != nil {
			return fmt.Errorf("pcap record %d: %w", i, err)
		}
	}
	return nil
}

// l2 returns the Ethernet (and VLAN) layers for a frame of the given
// ethertype. Frames leaving the host come from its MAC.
func l2(e encap, outbound bool, etype layers.EthernetType) []gopacket.SerializableLayer {
	src, dst := gwMAC, hostMAC
	if outbound {
		src, dst = hostMAC, gwMAC
	}
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: dst}
	switch e {
	case encVLAN:
		eth.EthernetType = layers.EthernetTypeDot1Q
		return []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: vlanID, Type: etype}}
	case encQinQ:
		eth.EthernetType = layers.EthernetTypeQinQ
		return []gopacket.SerializableLayer{eth,
			&layers.Dot1Q{VLANIdentifier: sTagID, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: cTagID, Type: etype}}
	}
	eth.EthernetType = etype
	return []gopacket.SerializableLayer{eth}
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		// Only a programming error in this package gets here: every layer
		// is built from valid constants.
		panic(fmt.Sprintf("capgen: serialize: %v", err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

// ipLayer builds the network header for src→dst (v4 or v6 by address).
func ipLayer(src, dst netip.Addr, proto layers.IPProtocol, ttl uint8, id uint16) gopacket.NetworkLayer {
	if src.Is4() {
		return &layers.IPv4{Version: 4, TTL: ttl, Id: id, Protocol: proto,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	return &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto,
		SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func etherType(a netip.Addr) layers.EthernetType {
	if a.Is4() {
		return layers.EthernetTypeIPv4
	}
	return layers.EthernetTypeIPv6
}

// endpoint is one side of a conversation.
type endpoint struct {
	addr netip.Addr
	port uint16
}

// udpFrame builds a complete Ethernet/IP/UDP frame.
func udpFrame(e encap, outbound bool, src, dst endpoint, id uint16, payload []byte) []byte {
	ip := ipLayer(src.addr, dst.addr, layers.IPProtocolUDP, 64, id)
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	ls := append(l2(e, outbound, etherType(src.addr)), ip.(gopacket.SerializableLayer), udp, gopacket.Payload(payload))
	return serialize(ls...)
}

// tcpSeg describes one TCP segment.
type tcpSeg struct {
	flags   uint8 // decode-style flag bits: FIN 1, SYN 2, RST 4, PSH 8, ACK 16
	seq     uint32
	ack     uint32
	payload []byte
}

func tcpFrame(e encap, outbound bool, src, dst endpoint, id uint16, s tcpSeg) []byte {
	ip := ipLayer(src.addr, dst.addr, layers.IPProtocolTCP, 64, id)
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.port), DstPort: layers.TCPPort(dst.port),
		Seq: s.seq, Ack: s.ack, Window: 65160,
		FIN: s.flags&0x01 != 0, SYN: s.flags&0x02 != 0, RST: s.flags&0x04 != 0,
		PSH: s.flags&0x08 != 0, ACK: s.flags&0x10 != 0,
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	ls := append(l2(e, outbound, etherType(src.addr)), ip.(gopacket.SerializableLayer), tcp)
	if len(s.payload) > 0 {
		ls = append(ls, gopacket.Payload(s.payload))
	}
	return serialize(ls...)
}

func icmpEcho(e encap, outbound bool, src, dst netip.Addr, id, seq uint16, reply bool) []byte {
	payload := make([]byte, 56)
	for i := range payload {
		payload[i] = byte(i)
	}
	if src.Is4() {
		ip := ipLayer(src, dst, layers.IPProtocolICMPv4, 64, seq)
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if reply {
			typ = layers.ICMPv4TypeEchoReply
		}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}
		ls := append(l2(e, outbound, layers.EthernetTypeIPv4), ip.(gopacket.SerializableLayer), icmp, gopacket.Payload(payload))
		return serialize(ls...)
	}
	ip := ipLayer(src, dst, layers.IPProtocolICMPv6, 64, 0)
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	_ = icmp.SetNetworkLayerForChecksum(ip)
	echo := &layers.ICMPv6Echo{Identifier: id, SeqNumber: seq}
	ls := append(l2(e, outbound, layers.EthernetTypeIPv6), ip.(gopacket.SerializableLayer), icmp, echo, gopacket.Payload(payload))
	return serialize(ls...)
}

// udpDatagram is a UDP header plus payload with a correct checksum for
// src→dst, for frames whose IP layer is built by hand (fragments,
// extension headers).
func udpDatagram(src, dst endpoint, payload []byte) []byte {
	ip := ipLayer(src.addr, dst.addr, layers.IPProtocolUDP, 64, 0)
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return serialize(udp, gopacket.Payload(payload))
}

// ipv4Fragments splits a UDP datagram into IPv4 fragments of at most mtu
// bytes of IP payload (a multiple of 8 except for the last).
func ipv4Fragments(e encap, outbound bool, src, dst endpoint, id uint16, payload []byte, mtu int) [][]byte {
	dgram := udpDatagram(src, dst, payload)
	mtu &^= 7
	var out [][]byte
	for off := 0; off < len(dgram); off += mtu {
		end := min(off+mtu, len(dgram))
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: id, Protocol: layers.IPProtocolUDP,
			SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice(), FragOffset: uint16(off / 8)}
		if end < len(dgram) {
			ip.Flags = layers.IPv4MoreFragments
		}
		ls := append(l2(e, outbound, layers.EthernetTypeIPv4), ip, gopacket.Payload(dgram[off:end]))
		out = append(out, serialize(ls...))
	}
	return out
}

// ipv6Fragments splits a UDP datagram with IPv6 fragment headers.
func ipv6Fragments(e encap, outbound bool, src, dst endpoint, id uint32, payload []byte, mtu int) [][]byte {
	dgram := udpDatagram(src, dst, payload)
	mtu &^= 7
	var out [][]byte
	for off := 0; off < len(dgram); off += mtu {
		end := min(off+mtu, len(dgram))
		fo := uint16(off/8) << 3
		if end < len(dgram) {
			fo |= 1
		}
		hdr := []byte{byte(layers.IPProtocolUDP), 0, byte(fo >> 8), byte(fo),
			byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment,
			SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice()}
		body := append(hdr, dgram[off:end]...)
		ls := append(l2(e, outbound, layers.EthernetTypeIPv6), ip, gopacket.Payload(body))
		out = append(out, serialize(ls...))
	}
	return out
}

// ipv6HopByHopUDP wraps a UDP datagram behind a hop-by-hop options header
// (one PadN option filling the 8-byte header).
func ipv6HopByHopUDP(e encap, outbound bool, src, dst endpoint, payload []byte) []byte {
	dgram := udpDatagram(src, dst, payload)
	hbh := []byte{byte(layers.IPProtocolUDP), 0, 1, 4, 0, 0, 0, 0}
	ip := &layers.IPv6{Version: 6, HopLimit: 1, NextHeader: layers.IPProtocolIPv6HopByHop,
		SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice()}
	ls := append(l2(e, outbound, layers.EthernetTypeIPv6), ip, gopacket.Payload(append(hbh, dgram...)))
	return serialize(ls...)
}

// arpFrame is a request (who has target, tell sender) or its reply.
func arpFrame(sender, target netip.Addr, reply bool) []byte {
	a := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: hostMAC, SourceProtAddress: sender.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice(),
	}
	eth := &layers.Ethernet{SrcMAC: hostMAC, DstMAC: bcast, EthernetType: layers.EthernetTypeARP}
	if reply {
		a.Operation = layers.ARPReply
		a.SourceHwAddress, a.DstHwAddress = gwMAC, hostMAC
		eth.SrcMAC, eth.DstMAC = gwMAC, hostMAC
	}
	return serialize(eth, a)
}
