package filter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/visorng/visor/decode"
)

// truthExprs are compared against tcpdump on every capture.
var truthExprs = []string{
	"",
	"udp", "tcp", "icmp", "icmp6", "ip", "ip6", "arp", "sctp",
	"vlan", "vlan 100", "vlan and udp port 53", "vlan 100 and ip6", "vlan and vlan 20",
	"port 53 and vlan", "vlan or port 53", "vlan and host 10.0.0.1",
	"port 53", "udp port 53", "tcp port 53", "src port 53", "dst port 53",
	"port 53 or 5353", "port 53000", "udp port 53000 or 2055 or 6343", "port domain",
	"portrange 50000-60000", "src portrange 1-1024", "tcp dst portrange 53-179",
	"ip port 53", "ip6 port 53", "src or dst port 53", "src and dst port 53000",
	"host 192.168.0.54", "src host 8.8.8.8", "dst host 192.168.0.189",
	"host 192.168.0.54 or 8.8.8.8", "host 10.0.0.1 and 10.0.0.2", "ip host 10.0.0.1", "arp host 10.0.0.1",
	"net 192.168.0.0/24", "src net 192.168.0.0/16", "dst net 10.0.0.0 mask 255.0.0.0", "net 10", "net 194.247.5",
	"host ::1", "ip6 host 2001:470:1f0b:16b0::a26:53", "net 2001:470::/32", "src net fe80::/10", "dst net ff02::/16 or ::1",
	"proto 17", "ip proto 6", "ip6 proto 17", `proto \tcp`, "ip proto 132", "ether proto 0x86dd",
	"greater 200", "less 100", "greater 1500 or less 60",
	"not port 53", "!udp", "not (tcp or udp)", "tcp and (port 53 or port 179)",
	"udp or tcp and port 53", "ip and not tcp", "udp && !port 53 || icmp",
	"tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn", "tcp[tcpflags] & tcp-rst != 0",
	"ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 = 0x20", "udp[8:2] > 0x100", "udp[4:2] - 8 < 100", "len > 500", "len <= 100",
	"ip6[6] = 17", "icmp[icmptype] = icmp-echo", "icmp6[icmp6type] = icmp6-echo", "ip[0] & 0xf > 5",
	"ip[2:2] > len - 20", "udp[tcp[0] & 3] = 0", "ip[8] / 3 >= ip[1] * 2 + 1", "-ip[8] ^ 1 & 3 = 0xffffffc0",
	"ether[12:2] = 0x8100", "ether host 00:00:00:00:00:01", "ether src 02:00:00:00:00:01 or ether dst 02:00:00:00:00:02",
	"192.168.0.54", "not not ip6 and not 10.0.0.1",
}

func TestAgainstTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	var files []string
	if dir, ok := fixturesDir(); ok {
		m, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
		files = append(files, m...)
	} else {
		t.Log("fixtures not available; testing synthesized captures only")
	}
	tmp := t.TempDir()
	for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, layers.LinkType(276), layers.LinkType(228), layers.LinkTypeNull} {
		path := filepath.Join(tmp, fmt.Sprintf("synth-%d.pcap", link))
		writeSynth(t, path, link)
		files = append(files, path)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			frames, lt := readCapture(t, file)
			out := filepath.Join(t.TempDir(), "out.pcap")
			for _, expr := range truthExprs {
				args := []string{"-r", file, "-w", out}
				if expr != "" {
					args = append(args, "--", expr) // an expression may start with -
				}
				cmd := exec.Command(tcpdump, args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				tdErr := cmd.Run()
				prog, err := New(expr, lt)
				if tdErr != nil {
					msg := stderr.String()
					if strings.Contains(msg, "expression rejects all packets") && err == nil {
						for i, f := range frames {
							if prog.Match(f.data, f.wire) {
								t.Errorf("%q: tcpdump says nothing matches, we match #%d", expr, i)
								break
							}
						}
						continue
					}
					if err == nil {
						t.Errorf("%q: tcpdump failed (%v: %s) but Compile succeeded", expr, tdErr, strings.TrimSpace(msg))
					}
					continue
				}
				if err != nil {
					t.Errorf("%q: tcpdump accepts, Compile fails: %v", expr, err)
					continue
				}
				matched, _ := readCapture(t, out)
				want := subsequence(t, frames, matched)
				var got []int
				for i, f := range frames {
					if prog.Match(f.data, f.wire) {
						got = append(got, i)
					}
				}
				t.Logf("%-45q %d of %d frames", expr, len(got), len(frames))
				if !equalInts(got, want) {
					t.Errorf("%q: got %d matches, tcpdump %d; first difference at frame %d\n%v",
						expr, len(got), len(want), firstDiff(got, want), prog.Instructions())
				}
			}
		})
	}
}

type capFrame struct {
	ts   time.Time
	data []byte
	wire int
}

func readCapture(t *testing.T, path string) ([]capFrame, decode.LinkType) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []capFrame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, decode.LinkType(r.LinkType())
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, capFrame{ci.Timestamp, data, ci.Length})
	}
}

// subsequence maps tcpdump's output frames back to input indices.
func subsequence(t *testing.T, all, sub []capFrame) []int {
	t.Helper()
	var idx []int
	j := 0
	for i := 0; i < len(all) && j < len(sub); i++ {
		// tcpdump -w writes microseconds.
		if all[i].ts.Truncate(time.Microsecond).Equal(sub[j].ts) && bytes.Equal(all[i].data, sub[j].data) {
			idx = append(idx, i)
			j++
		}
	}
	if j != len(sub) {
		t.Fatalf("tcpdump output is not a subsequence of the input")
	}
	return idx
}

func equalInts(a, b []int) bool {
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

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return min(a[i], b[i])
		}
	}
	if len(a) > len(b) {
		return a[len(b)]
	}
	if len(b) > len(a) {
		return b[len(a)]
	}
	return -1
}

// synthPackets builds IP-layer packets covering what the fixtures lack:
// ICMP, IPv4 options, fragments (v4 and v6), SCTP, ARP, and VLAN tags.
type synthPkt struct {
	vlans  []uint16 // outer first; Ethernet only
	arp    bool
	ip     []gopacket.SerializableLayer
	trunc  int // captured bytes to drop from the end
	srcMAC net.HardwareAddr
	dstMAC net.HardwareAddr
}

func synthPackets() []synthPkt {
	v4 := func(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	}
	v6 := func(src, dst string, next layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	}
	udp := func(sp, dp int) *layers.UDP {
		return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	}
	tcp := func(sp, dp int, syn, ack, rst bool) *layers.TCP {
		return &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: syn, ACK: ack, RST: rst, Window: 1000, DataOffset: 5}
	}
	pay := func(n int) gopacket.Payload { return gopacket.Payload(bytes.Repeat([]byte{0xab}, n)) }
	withUDP := func(ip gopacket.NetworkLayer, u *layers.UDP) *layers.UDP { u.SetNetworkLayerForChecksum(ip); return u }
	withTCP := func(ip gopacket.NetworkLayer, tc *layers.TCP) *layers.TCP {
		tc.SetNetworkLayerForChecksum(ip)
		return tc
	}

	var ps []synthPkt
	add := func(p synthPkt) { ps = append(ps, p) }
	{
		ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(40000, 53)), pay(30)}})
	}
	{
		ip := v4("10.0.0.2", "10.0.0.1", layers.IPProtocolUDP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(53, 40000)), pay(600)}})
	}
	{
		ip := v4("192.168.0.54", "8.8.8.8", layers.IPProtocolUDP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(5353, 5353)), pay(10)}})
	}
	{
		ip := v4("10.0.0.1", "10.9.9.9", layers.IPProtocolTCP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withTCP(ip, tcp(50001, 53, true, false, false))}})
	}
	{
		ip := v4("10.9.9.9", "10.0.0.1", layers.IPProtocolTCP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withTCP(ip, tcp(53, 50001, true, true, false))}})
	}
	{
		ip := v4("10.9.9.9", "10.0.0.1", layers.IPProtocolTCP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withTCP(ip, tcp(179, 50001, false, true, true)), pay(1600)}})
	}
	{
		ip := v4("10.0.0.1", "8.8.8.8", layers.IPProtocolICMPv4)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, pay(56)}})
	}
	{
		ip := v4("8.8.8.8", "10.0.0.1", layers.IPProtocolICMPv4)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 1, Seq: 1}, pay(56)}})
	}
	{
		// IPv4 with options (IHL 6): ports sit 4 bytes later.
		ip := v4("10.0.0.3", "10.0.0.1", layers.IPProtocolUDP)
		ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(1234, 53)), pay(20)}})
	}
	{
		// First fragment of UDP 53 (MF set), then a later fragment whose
		// payload bytes look like port 53.
		ip := v4("10.0.0.4", "10.0.0.1", layers.IPProtocolUDP)
		ip.Flags = layers.IPv4MoreFragments
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(53, 2000)), pay(64)}})
		ip2 := v4("10.0.0.4", "10.0.0.1", layers.IPProtocolUDP)
		ip2.FragOffset = 9
		add(synthPkt{ip: []gopacket.SerializableLayer{ip2, gopacket.Payload([]byte{0, 53, 0, 53, 0, 8, 0, 0, 1, 2, 3, 4})}})
	}
	{
		ip := v4("10.0.0.5", "10.0.0.6", layers.IPProtocolSCTP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, gopacket.Payload([]byte{0x13, 0x88, 0, 53, 0, 0, 0, 1, 0, 0, 0, 0})}})
	}
	{
		ip := v6("::1", "::1", layers.IPProtocolUDP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(40000, 53)), pay(40)}})
	}
	{
		ip := v6("2001:470:1f0b:16b0::a26:53", "fe80::1", layers.IPProtocolTCP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withTCP(ip, tcp(53, 443, true, false, false))}})
	}
	{
		ip := v6("fe80::1", "ff02::1", layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		icmp.SetNetworkLayerForChecksum(ip)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, icmp, pay(8)}})
	}
	{
		// IPv6 fragment header carrying UDP 53.
		ip := v6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6Fragment)
		frag := gopacket.Payload([]byte{17, 0, 0, 1, 0, 0, 0, 7, 0, 53, 0, 53, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, frag}})
	}
	{
		// VLAN-tagged DNS, IPv4 and IPv6, a double tag, and a tagged ARP.
		ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
		add(synthPkt{vlans: []uint16{100}, ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(40001, 53)), pay(30)}})
		ip6 := v6("2001:db8::1", "2001:db8::53", layers.IPProtocolUDP)
		add(synthPkt{vlans: []uint16{100}, ip: []gopacket.SerializableLayer{ip6, withUDP(ip6, udp(40002, 53)), pay(30)}})
		ip2 := v4("10.0.0.2", "10.0.0.1", layers.IPProtocolUDP)
		add(synthPkt{vlans: []uint16{10, 20}, ip: []gopacket.SerializableLayer{ip2, withUDP(ip2, udp(53, 40003)), pay(30)}})
		add(synthPkt{vlans: []uint16{200}, arp: true})
	}
	add(synthPkt{arp: true})
	{
		// Truncated capture: the UDP header is cut in the middle.
		ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
		add(synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(40000, 53)), pay(30)}, trunc: 36})
	}
	{
		ip := v4("10.0.0.7", "10.0.0.8", layers.IPProtocolUDP)
		p := synthPkt{ip: []gopacket.SerializableLayer{ip, withUDP(ip, udp(1, 2))}}
		p.srcMAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
		p.dstMAC = net.HardwareAddr{0, 0, 0, 0, 0, 1}
		add(p)
	}
	return ps
}

func writeSynth(t *testing.T, path string, link layers.LinkType) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for i, p := range synthPackets() {
		if link != layers.LinkTypeEthernet && (p.arp || len(p.vlans) > 0) {
			continue
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		var ls []gopacket.SerializableLayer
		var ipVer byte = 4
		if len(p.ip) > 0 {
			if _, ok := p.ip[0].(*layers.IPv6); ok {
				ipVer = 6
			}
		}
		et := layers.EthernetTypeIPv4
		if ipVer == 6 {
			et = layers.EthernetTypeIPv6
		}
		if p.arp {
			et = layers.EthernetTypeARP
		}
		switch link {
		case layers.LinkTypeEthernet:
			src, dst := p.srcMAC, p.dstMAC
			if src == nil {
				src, dst = net.HardwareAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}, net.HardwareAddr{0, 0x66, 0x77, 0x88, 0x99, 0xaa}
			}
			eth := &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: et}
			ls = append(ls, eth)
			if len(p.vlans) > 0 {
				eth.EthernetType = layers.EthernetTypeDot1Q
				for j, id := range p.vlans {
					next := et
					if j+1 < len(p.vlans) {
						next = layers.EthernetTypeDot1Q
					}
					ls = append(ls, &layers.Dot1Q{VLANIdentifier: id, Type: next})
				}
			}
		case layers.LinkTypeLinuxSLL:
			hdr := make([]byte, 16)
			hdr[1] = 4 // outgoing
			hdr[3] = 1
			hdr[5] = 6
			hdr[14], hdr[15] = byte(et>>8), byte(et)
			ls = append(ls, gopacket.Payload(hdr))
		case 276:
			hdr := make([]byte, 20)
			hdr[0], hdr[1] = byte(et>>8), byte(et)
			hdr[9] = 1
			hdr[11] = 6
			ls = append(ls, gopacket.Payload(hdr))
		case 228:
			if ipVer != 4 {
				continue
			}
		case layers.LinkTypeNull:
			fam := []byte{2, 0, 0, 0}
			if ipVer == 6 {
				fam = []byte{30, 0, 0, 0}
			}
			ls = append(ls, gopacket.Payload(fam))
		}
		if p.arp {
			ls = append(ls, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
				HwAddressSize: 6, ProtAddressSize: 4, Operation: 1,
				SourceHwAddress: []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}, SourceProtAddress: []byte{10, 0, 0, 1},
				DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
		} else {
			ls = append(ls, p.ip...)
		}
		if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		data := buf.Bytes()
		wire := len(data)
		if p.trunc > 0 && p.trunc < len(data) {
			// keep the link header plus trunc bytes of IP
			data = data[:len(data)-(len(data)-p.trunc)]
		}
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: wire}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}

// fixturesDir finds ../shared/fixtures next to the repository root.
func fixturesDir() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		return "", false
	}
	return fx, true
}
