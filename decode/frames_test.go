package decode

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Hand-written frame builders. They write exactly the bytes asked for (no
// padding, no checksums) so tests control every length field.

var (
	src4 = netip.MustParseAddr("192.0.2.10")
	dst4 = netip.MustParseAddr("198.51.100.53")
	src6 = netip.MustParseAddr("2001:db8::10")
	dst6 = netip.MustParseAddr("2001:db8:1::53")

	macSrc = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	macDst = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}

	dnsQuery = []byte{ // A query for example.com, id 0x1234
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 1, 0, 1,
	}
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func ethHdr(etype uint16) []byte { return cat(macDst, macSrc, u16(etype)) }

// vlanTag is a tag as it follows a TPID: TCI then the next EtherType.
func vlanTag(vid, next uint16) []byte { return cat(u16(vid|0x2000), u16(next)) }

// padTo appends zero bytes the way a NIC pads a short Ethernet frame.
func padTo(frame []byte, n int) []byte {
	for len(frame) < n {
		frame = append(frame, 0)
	}
	return frame
}

type ip4opts struct {
	options []byte // must be a multiple of 4
	id      uint16
	more    bool
	fragOff uint16 // 8-byte units
	total   int    // overrides the total length when non-zero
}

func ipv4(proto uint8, o ip4opts, payload []byte) []byte {
	hlen := 20 + len(o.options)
	h := make([]byte, 20, hlen+len(payload))
	h[0] = 0x40 | uint8(hlen/4)
	h[1] = 0x28
	total := hlen + len(payload)
	if o.total != 0 {
		total = o.total
	}
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], o.id)
	frag := o.fragOff
	if o.more {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], frag)
	h[8] = 64
	h[9] = proto
	copy(h[12:], src4.AsSlice())
	copy(h[16:], dst4.AsSlice())
	return cat(h, o.options, payload)
}

func ipv6(next uint8, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x6b // version 6, traffic class 0xb8
	h[1] = 0x80
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 63
	copy(h[8:], src6.AsSlice())
	copy(h[24:], dst6.AsSlice())
	return append(h, payload...)
}

// ext6 is a hop-by-hop, routing or destination-options header of 8*units
// bytes filled with PadN.
func ext6(next uint8, units int) []byte {
	h := make([]byte, 8*units)
	h[0] = next
	h[1] = uint8(units - 1)
	h[2] = 1 // PadN
	h[3] = uint8(len(h) - 4)
	return h
}

func frag6(next uint8, off uint16, more bool, id uint32) []byte {
	h := make([]byte, 8)
	h[0] = next
	fo := off << 3
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(h[2:], fo)
	binary.BigEndian.PutUint32(h[4:], id)
	return h
}

// ah6 is an authentication header with a 12-byte ICV (24 bytes in all).
func ah6(next uint8) []byte {
	h := make([]byte, 24)
	h[0] = next
	h[1] = 4 // (24/4)-2
	return h
}

func udp(sport, dport uint16, payload []byte) []byte {
	return cat(u16(sport), u16(dport), u16(uint16(8+len(payload))), u16(0), payload)
}

func tcp(sport, dport uint16, seq, ack uint32, flags uint8, opts, payload []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12] = uint8((20+len(opts))/4) << 4
	h[13] = flags
	binary.BigEndian.PutUint16(h[14:], 65535)
	return cat(h, opts, payload)
}

func icmp(typ, code uint8, body []byte) []byte { return cat([]byte{typ, code, 0, 0}, body) }

func sllHdr(etype uint16) []byte {
	return cat(u16(0), u16(1), u16(6), macSrc, []byte{0, 0}, u16(etype))
}

func sll2Hdr(etype uint16) []byte {
	return cat(u16(etype), u16(0), []byte{0, 0, 0, 3}, u16(1), []byte{4, 6}, macSrc, []byte{0, 0})
}

// gopacket-built frames: an independent encoder for the common stacks.

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func gpEth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macSrc, DstMAC: macDst, EthernetType: t}
}

func gpIPv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, TOS: 0x28, Protocol: proto, SrcIP: src4.AsSlice(), DstIP: dst4.AsSlice()}
}

func gpIPv6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 63, TrafficClass: 0xb8, NextHeader: next, SrcIP: src6.AsSlice(), DstIP: dst6.AsSlice()}
}

// gpDNSFrame is Ethernet/IPv4/UDP carrying a DNS query: the agent's most
// common frame, hence also the main benchmark frame.
func gpDNSFrame(t testing.TB) []byte {
	ip := gpIPv4(layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 40000, DstPort: 53}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, gpEth(layers.EthernetTypeIPv4), ip, u, gopacket.Payload(dnsQuery))
}

// gpTCP6Frame is Ethernet/IPv6/TCP with MSS, SACK-permitted, timestamps
// and window-scale options and a 100-byte payload.
func gpTCP6Frame(t testing.TB) []byte {
	ip := gpIPv6(layers.IPProtocolTCP)
	tc := &layers.TCP{SrcPort: 443, DstPort: 51000, Seq: 1000, Ack: 2000, ACK: true, PSH: true, Window: 500,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}}
	if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = byte(i)
	}
	return serialize(t, gpEth(layers.EthernetTypeIPv6), ip, tc, gopacket.Payload(payload))
}

// gpVLANFrame is QinQ-tagged (802.1ad outer 100, 802.1Q inner 200)
// Ethernet/IPv4/UDP DNS.
func gpVLANFrame(t testing.TB) []byte {
	ip := gpIPv4(layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 40000, DstPort: 53}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, gpEth(layers.EthernetTypeQinQ),
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeIPv4},
		ip, u, gopacket.Payload(dnsQuery))
}

// fixturesDir finds ../shared/fixtures beside the module root, or skips.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dir, reason := findFixtures()
	if dir == "" {
		t.Skip(reason)
	}
	return dir
}

// findFixtures walks up to the module root and looks beside it for the
// shared fixtures; without them it says why in reason.
func findFixtures() (dir, reason string) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err.Error()
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "no go.mod above the package directory; cannot locate shared fixtures"
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		return "", "shared fixtures not present: " + err.Error()
	}
	return fx, ""
}
