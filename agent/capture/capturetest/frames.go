package capturetest

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Kind names one sort of frame in a test mix.
type Kind uint8

const (
	DNSUDP4   Kind = iota // DNS query over UDP/IPv4
	DNSTCP4               // DNS query over TCP/IPv4 (length-prefixed)
	TCPSyn4               // TCP SYN to port 80
	ICMP4                 // ICMP echo request
	UDP4                  // UDP to a non-DNS port
	DNSUDP6               // DNS query over UDP/IPv6
	TCPSyn6               // TCP SYN over IPv6
	ICMP6                 // ICMPv6 echo request
	VLANDNS4              // 802.1Q VLAN 100, DNS over UDP/IPv4
	QinQUDP4              // 802.1ad 200 + 802.1Q 300, UDP/IPv4
	Broadcast             // UDP/IPv4 to the broadcast MAC and address
	numKinds
)

var kindNames = [numKinds]string{"dns_udp4", "dns_tcp4", "tcp_syn4", "icmp4", "udp4", "dns_udp6", "tcp_syn6", "icmp6", "vlan_dns4", "qinq_udp4", "broadcast"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds lists every kind a mix cycles through.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// IsUDPPort53 says whether the kind carries DNS over UDP (a common filter
// target, `udp port 53`).
func (k Kind) IsUDPPort53() bool { return k == DNSUDP4 || k == DNSUDP6 || k == VLANDNS4 }

// TestFrame is one synthesized frame.
type TestFrame struct {
	Kind Kind
	Data []byte
}

// Addresses of a mix. The destination addresses are on no interface of the
// test namespaces and forwarding is off there, so the frames provoke no
// replies that would add frames the test did not send.
var (
	mixSrc4 = net.IPv4(10, 231, 1, 2).To4()
	mixDst4 = net.IPv4(198, 51, 100, 7).To4()
	mixSrc6 = net.ParseIP("2001:db8:231::2")
	mixDst6 = net.ParseIP("2001:db8:100::7")
)

// Mix synthesizes n frames cycling through Kinds from src to dst; every frame
// is distinct (the sequence number is in the IP ID / flow label, the source
// port and the payload), so a receiver can match frames exactly.
func Mix(n int, src, dst net.HardwareAddr) []TestFrame {
	out := make([]TestFrame, 0, n)
	for i := range n {
		k := Kind(i % int(numKinds))
		out = append(out, TestFrame{Kind: k, Data: Build(k, uint16(i), src, dst)})
	}
	return out
}

// Build synthesizes one frame of kind k with sequence number seq.
func Build(k Kind, seq uint16, src, dst net.HardwareAddr) []byte {
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Id: seq, SrcIP: mixSrc4, DstIP: mixDst4}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, FlowLabel: uint32(seq), SrcIP: mixSrc6, DstIP: mixDst6}
	sport := layers.UDPPort(20000 + seq%40000)
	var ls []gopacket.SerializableLayer
	switch k {
	case DNSUDP4, DNSUDP6, VLANDNS4:
		udp := &layers.UDP{SrcPort: sport, DstPort: 53}
		payload := gopacket.Payload(dnsQuery(seq))
		switch k {
		case DNSUDP4:
			ip4.Protocol = layers.IPProtocolUDP
			udp.SetNetworkLayerForChecksum(ip4)
			ls = []gopacket.SerializableLayer{eth, ip4, udp, payload}
		case DNSUDP6:
			eth.EthernetType = layers.EthernetTypeIPv6
			ip6.NextHeader = layers.IPProtocolUDP
			udp.SetNetworkLayerForChecksum(ip6)
			ls = []gopacket.SerializableLayer{eth, ip6, udp, payload}
		default:
			eth.EthernetType = layers.EthernetTypeDot1Q
			tag := &layers.Dot1Q{VLANIdentifier: 100, Priority: 3, Type: layers.EthernetTypeIPv4}
			ip4.Protocol = layers.IPProtocolUDP
			udp.SetNetworkLayerForChecksum(ip4)
			ls = []gopacket.SerializableLayer{eth, tag, ip4, udp, payload}
		}
	case DNSTCP4:
		q := dnsQuery(seq)
		msg := binary.BigEndian.AppendUint16(nil, uint16(len(q)))
		msg = append(msg, q...)
		ip4.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 53, Seq: 1000 + uint32(seq), Ack: 1, ACK: true, PSH: true, Window: 512}
		tcp.SetNetworkLayerForChecksum(ip4)
		ls = []gopacket.SerializableLayer{eth, ip4, tcp, gopacket.Payload(msg)}
	case TCPSyn4, TCPSyn6:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 80, Seq: uint32(seq), SYN: true, Window: 64240}
		if k == TCPSyn4 {
			ip4.Protocol = layers.IPProtocolTCP
			tcp.SetNetworkLayerForChecksum(ip4)
			ls = []gopacket.SerializableLayer{eth, ip4, tcp}
		} else {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip6.NextHeader = layers.IPProtocolTCP
			tcp.SetNetworkLayerForChecksum(ip6)
			ls = []gopacket.SerializableLayer{eth, ip6, tcp}
		}
	case ICMP4:
		ip4.Protocol = layers.IPProtocolICMPv4
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: seq}
		ls = []gopacket.SerializableLayer{eth, ip4, icmp, gopacket.Payload("visor-ping")}
	case ICMP6:
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6.NextHeader = layers.IPProtocolICMPv6
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		icmp.SetNetworkLayerForChecksum(ip6)
		echo := &layers.ICMPv6Echo{Identifier: 7, SeqNumber: seq}
		ls = []gopacket.SerializableLayer{eth, ip6, icmp, echo, gopacket.Payload("visor-ping")}
	case UDP4, Broadcast, QinQUDP4:
		ip4.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: sport, DstPort: 12345}
		payload := gopacket.Payload(fmt.Sprintf("visor-udp-%05d", seq))
		switch k {
		case UDP4:
			udp.SetNetworkLayerForChecksum(ip4)
			ls = []gopacket.SerializableLayer{eth, ip4, udp, payload}
		case Broadcast:
			eth.DstMAC = layers.EthernetBroadcast
			ip4.DstIP = net.IPv4bcast.To4()
			udp.SetNetworkLayerForChecksum(ip4)
			ls = []gopacket.SerializableLayer{eth, ip4, udp, payload}
		default:
			eth.EthernetType = layers.EthernetTypeQinQ
			outer := &layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeDot1Q}
			inner := &layers.Dot1Q{VLANIdentifier: 300, Type: layers.EthernetTypeIPv4}
			udp.SetNetworkLayerForChecksum(ip4)
			ls = []gopacket.SerializableLayer{eth, outer, inner, ip4, udp, payload}
		}
	default:
		panic(fmt.Sprintf("capturetest: unknown kind %d", k))
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		panic(fmt.Sprintf("capturetest: serialize %s: %v", k, err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

// dnsQuery is a minimal DNS query for <seq>.visor.test/A with ID seq.
func dnsQuery(seq uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, seq)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD, QDCOUNT 1
	label := fmt.Sprintf("q%05d", seq)
	b = append(b, byte(len(label)))
	b = append(b, label...)
	b = append(b, 5, 'v', 'i', 's', 'o', 'r', 4, 't', 'e', 's', 't', 0)
	return append(b, 0, 1, 0, 1) // A, IN
}

// KindCounts renders counts per kind in a stable order for messages.
func KindCounts(m map[Kind]int) string {
	var b strings.Builder
	for k := range numKinds {
		if m[k] != 0 {
			fmt.Fprintf(&b, "%s=%d ", k, m[k])
		}
	}
	return strings.TrimSpace(b.String())
}
