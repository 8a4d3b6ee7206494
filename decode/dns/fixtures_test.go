package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	mdns "github.com/miekg/dns"
)

// fixturesDir finds ../shared/fixtures next to the module root, or skips.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dir, err := findFixtures()
	if err != nil {
		t.Skipf("shared fixtures absent: %v", err)
	}
	return dir
}

func findFixtures() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root not found")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		return "", err
	}
	return fx, nil
}

// dnsFixtureFiles are the captures holding DNS messages.
var dnsFixtureFiles = []string{
	"dns_ipv4_udp.pcap", "dns_ipv4_tcp.pcap", "dns_ipv6_udp.pcap", "dns_ipv6_tcp.pcap",
	"dns_udp_mixed_rcode.pcap", "dns_udp_tcp_random.pcap", "dnssec.pcap", "ecs.pcap",
}

type fixtureMsg struct {
	where string // file#frame
	data  []byte
}

func isDNSPort(p uint16) bool { return p == 53 || p == 53000 || p == 5353 }

// fixtureMessages extracts DNS messages: UDP payloads on DNS ports, and
// from TCP segments the length-prefixed messages a segment holds whole.
func fixtureMessages(t testing.TB) []fixtureMsg {
	t.Helper()
	dir := fixturesDir(t)
	var out []fixtureMsg
	for _, name := range dnsFixtureFiles {
		msgs, err := readMessages(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msgs...)
	}
	if len(out) == 0 {
		t.Skip("no DNS messages in fixtures")
	}
	return out
}

func readMessages(path string) ([]fixtureMsg, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := filepath.Base(path)
	var out []fixtureMsg
	for n := 1; ; n++ {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s frame %d: %w", path, n, err)
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		where := fmt.Sprintf("%s#%d", base, n)
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			if isDNSPort(uint16(udp.SrcPort)) || isDNSPort(uint16(udp.DstPort)) {
				if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip4.Flags&layers.IPv4MoreFragments != 0 {
					continue // first fragment of a datagram we cannot see whole
				}
				out = append(out, fixtureMsg{where, append([]byte(nil), udp.Payload...)})
			}
			continue
		}
		if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			if !isDNSPort(uint16(tcp.SrcPort)) && !isDNSPort(uint16(tcp.DstPort)) {
				continue
			}
			p := tcp.Payload
			for i := 0; len(p) >= 2; i++ {
				l := int(binary.BigEndian.Uint16(p))
				if 2+l > len(p) {
					break
				}
				out = append(out, fixtureMsg{fmt.Sprintf("%s.%d", where, i), append([]byte(nil), p[2:2+l]...)})
				p = p[2+l:]
			}
		}
	}
}

// presentation turns a miekg name into our form: lower case, no trailing dot.
func presentation(name string) string {
	name = strings.ToLower(name)
	if name != "." {
		name = strings.TrimSuffix(name, ".")
	}
	return name
}

// crossCheck compares Parse with miekg/dns Msg.Unpack on one message and
// returns a description of the first disagreement, or "".
func crossCheck(raw []byte) string {
	var mm mdns.Msg
	errM := mm.Unpack(raw)
	var m Message
	errO := Parse(raw, &m)
	switch {
	case errM != nil && errO != nil:
		return ""
	case errM != nil:
		return fmt.Sprintf("miekg failed (%v) but Parse succeeded", errM)
	case errO != nil:
		return fmt.Sprintf("Parse failed (%v) but miekg succeeded", errO)
	}
	hdr := func(name string, got, want any) string {
		if got != want {
			return fmt.Sprintf("%s: got %v want %v", name, got, want)
		}
		return ""
	}
	checks := []string{
		hdr("id", m.ID, mm.Id),
		hdr("qr", m.QR, mm.Response),
		hdr("opcode", int(m.Opcode), mm.Opcode),
		hdr("aa", m.AA, mm.Authoritative),
		hdr("tc", m.TC, mm.Truncated),
		hdr("rd", m.RD, mm.RecursionDesired),
		hdr("ra", m.RA, mm.RecursionAvailable),
		hdr("z", m.Z, mm.Zero),
		hdr("ad", m.AD, mm.AuthenticatedData),
		hdr("cd", m.CD, mm.CheckingDisabled),
		hdr("rcode", int(m.FullRcode()), mm.Rcode),
		hdr("qdcount", m.QDCount, binary.BigEndian.Uint16(raw[4:])),
		hdr("ancount", m.ANCount, binary.BigEndian.Uint16(raw[6:])),
		hdr("nscount", m.NSCount, binary.BigEndian.Uint16(raw[8:])),
		hdr("arcount", m.ARCount, binary.BigEndian.Uint16(raw[10:])),
		hdr("answers", m.Answers, len(mm.Answer)),
		hdr("hasQuestion", m.HasQuestion, len(mm.Question) > 0),
	}
	if len(mm.Question) > 0 {
		q := mm.Question[0]
		checks = append(checks,
			hdr("qname", m.QNameString(), presentation(q.Name)),
			hdr("qtype", m.QType, q.Qtype),
			hdr("qclass", m.QClass, q.Qclass))
	}
	rrsig := false
	for _, rr := range mm.Answer {
		if rr.Header().Rrtype == mdns.TypeRRSIG {
			rrsig = true
		}
	}
	checks = append(checks, hdr("rrsig", m.HasRRSIG, rrsig))
	opt := mm.IsEdns0()
	checks = append(checks, hdr("edns", m.EDNS.Present, opt != nil))
	if opt != nil {
		checks = append(checks,
			hdr("udpsize", m.EDNS.UDPSize, opt.UDPSize()),
			hdr("do", m.EDNS.DO, opt.Do()),
			hdr("version", m.EDNS.Version, opt.Version()))
		var ecs *mdns.EDNS0_SUBNET
		for _, o := range opt.Option {
			if e, ok := o.(*mdns.EDNS0_SUBNET); ok {
				ecs = e
				break
			}
		}
		checks = append(checks, hdr("ecs", m.ECS.Present, ecs != nil))
		if ecs != nil {
			checks = append(checks,
				hdr("ecs family", m.ECS.Family, ecs.Family),
				hdr("ecs source", m.ECS.SourcePrefix, ecs.SourceNetmask),
				hdr("ecs scope", m.ECS.ScopePrefix, ecs.SourceScope))
			if ecs.Family != 0 {
				checks = append(checks, hdr("ecs addr", m.ECS.Addr.String(), ecs.Address.String()))
			}
		}
	}
	for _, c := range checks {
		if c != "" {
			return c
		}
	}
	return ""
}

// TestFixturesAgreeWithMiekg parses every DNS message in the fixtures with
// both decoders; every field the metrics read must agree.
func TestFixturesAgreeWithMiekg(t *testing.T) {
	msgs := fixtureMessages(t)
	var ecs, edns, rrsig, both int
	for _, fm := range msgs {
		if d := crossCheck(fm.data); d != "" {
			t.Errorf("%s: %s", fm.where, d)
			continue
		}
		var m Message
		if Parse(fm.data, &m) == nil {
			both++
			if m.ECS.Present {
				ecs++
			}
			if m.EDNS.Present {
				edns++
			}
			if m.HasRRSIG {
				rrsig++
			}
		}
	}
	t.Logf("%d messages, %d parsed, %d with EDNS, %d with ECS, %d with RRSIG answers", len(msgs), both, edns, ecs, rrsig)
	if ecs == 0 || rrsig == 0 || edns == 0 {
		t.Errorf("fixtures should exercise ECS, EDNS and RRSIG (got %d, %d, %d)", ecs, edns, rrsig)
	}
}
