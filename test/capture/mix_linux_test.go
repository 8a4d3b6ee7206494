//go:build linux

package capturetest

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// kind is one sort of frame in the mix, with what every counter should
// make of it.
type kind struct {
	name string
	v6   bool
	l4   string // "udp", "tcp", "icmp"
	dns  bool   // a DNS port on either side
	syn  bool
	vlan uint16 // 802.1Q tag, 0 for none
	// build serializes the layers after Ethernet (and the tag).
	build func(seq uint16) []gopacket.SerializableLayer
}

var (
	src4 = net.IPv4(10, 233, 1, 2).To4()
	dst4 = net.IPv4(198, 51, 100, 7).To4()
	src6 = net.ParseIP("2001:db8:233::2")
	dst6 = net.ParseIP("2001:db8:100::7")
)

func ip4(proto layers.IPProtocol, seq uint16) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Id: seq, Protocol: proto, SrcIP: src4, DstIP: dst4}
}

func ip6(next layers.IPProtocol, seq uint16) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, FlowLabel: uint32(seq), NextHeader: next, SrcIP: src6, DstIP: dst6}
}

func udp(net gopacket.NetworkLayer, sport, dport uint16, payload []byte) []gopacket.SerializableLayer {
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(net)
	return []gopacket.SerializableLayer{net.(gopacket.SerializableLayer), u, gopacket.Payload(payload)}
}

func tcp(net gopacket.NetworkLayer, t *layers.TCP, payload []byte) []gopacket.SerializableLayer {
	t.SetNetworkLayerForChecksum(net)
	return []gopacket.SerializableLayer{net.(gopacket.SerializableLayer), t, gopacket.Payload(payload)}
}

// dnsQuery is a minimal query for q<seq>.visor.test/A.
func dnsQuery(seq uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, seq)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	label := fmt.Sprintf("q%05d", seq)
	b = append(b, byte(len(label)))
	b = append(b, label...)
	b = append(b, 5, 'v', 'i', 's', 'o', 'r', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1)
	return b
}

func sport(seq uint16) uint16 { return 20000 + seq%40000 }

var kinds = []kind{
	{name: "dns_udp4", l4: "udp", dns: true, build: func(s uint16) []gopacket.SerializableLayer {
		return udp(ip4(layers.IPProtocolUDP, s), sport(s), 53, dnsQuery(s))
	}},
	{name: "dns_tcp4", l4: "tcp", dns: true, build: func(s uint16) []gopacket.SerializableLayer {
		q := dnsQuery(s)
		msg := append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)
		return tcp(ip4(layers.IPProtocolTCP, s), &layers.TCP{SrcPort: layers.TCPPort(sport(s)), DstPort: 53, Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 512}, msg)
	}},
	{name: "udp4", l4: "udp", build: func(s uint16) []gopacket.SerializableLayer {
		return udp(ip4(layers.IPProtocolUDP, s), sport(s), 12345, []byte(fmt.Sprintf("visor-udp-%05d", s)))
	}},
	{name: "syn4", l4: "tcp", syn: true, build: func(s uint16) []gopacket.SerializableLayer {
		return tcp(ip4(layers.IPProtocolTCP, s), &layers.TCP{SrcPort: layers.TCPPort(sport(s)), DstPort: 80, Seq: uint32(s), SYN: true, Window: 64240}, nil)
	}},
	{name: "icmp4", l4: "icmp", build: func(s uint16) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{ip4(layers.IPProtocolICMPv4, s),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: s}, gopacket.Payload("visor-ping")}
	}},
	{name: "dns_udp6", v6: true, l4: "udp", dns: true, build: func(s uint16) []gopacket.SerializableLayer {
		return udp(ip6(layers.IPProtocolUDP, s), sport(s), 53, dnsQuery(s))
	}},
	{name: "syn6", v6: true, l4: "tcp", syn: true, build: func(s uint16) []gopacket.SerializableLayer {
		return tcp(ip6(layers.IPProtocolTCP, s), &layers.TCP{SrcPort: layers.TCPPort(sport(s)), DstPort: 443, Seq: uint32(s), SYN: true, Window: 64240}, nil)
	}},
	{name: "icmp6", v6: true, l4: "icmp", build: func(s uint16) []gopacket.SerializableLayer {
		n := ip6(layers.IPProtocolICMPv6, s)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		ic.SetNetworkLayerForChecksum(n)
		return []gopacket.SerializableLayer{n, ic, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: s}, gopacket.Payload("visor-ping")}
	}},
	{name: "vlan_dns_udp4", l4: "udp", dns: true, vlan: 100, build: func(s uint16) []gopacket.SerializableLayer {
		return udp(ip4(layers.IPProtocolUDP, s), sport(s), 53, dnsQuery(s))
	}},
	{name: "vlan_syn6", v6: true, l4: "tcp", syn: true, vlan: 200, build: func(s uint16) []gopacket.SerializableLayer {
		return tcp(ip6(layers.IPProtocolTCP, s), &layers.TCP{SrcPort: layers.TCPPort(sport(s)), DstPort: 80, Seq: uint32(s), SYN: true, Window: 64240}, nil)
	}},
}

// frame builds frame seq of kind k from src to dst.
func (k kind) frame(seq uint16, src, dst net.HardwareAddr) []byte {
	typ := layers.EthernetTypeIPv4
	if k.v6 {
		typ = layers.EthernetTypeIPv6
	}
	ls := []gopacket.SerializableLayer{}
	if k.vlan != 0 {
		ls = append(ls, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: k.vlan, Type: typ})
	} else {
		ls = append(ls, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: typ})
	}
	ls = append(ls, k.build(seq)...)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(fmt.Sprintf("serialize %s: %v", k.name, err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

// expected are the counts a mix must produce.
type expected struct {
	Packets, Bytes, IPv4, IPv6, UDP, TCP, ICMP, DNSPort, TCPSyn uint64
}

// buildMix cycles through kinds for n frames and returns them with the
// counts they must produce.
func buildMix(n int, src, dst net.HardwareAddr) ([][]byte, expected) {
	var e expected
	out := make([][]byte, 0, n)
	for i := range n {
		k := kinds[i%len(kinds)]
		f := k.frame(uint16(i), src, dst)
		out = append(out, f)
		e.Packets++
		e.Bytes += uint64(len(f))
		if k.v6 {
			e.IPv6++
		} else {
			e.IPv4++
		}
		switch k.l4 {
		case "udp":
			e.UDP++
		case "tcp":
			e.TCP++
		case "icmp":
			e.ICMP++
		}
		if k.dns {
			e.DNSPort++
		}
		if k.syn {
			e.TCPSyn++
		}
	}
	return out, e
}
