package capgen

import (
	"fmt"
	"math/rand"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// qtypes weighted by how often they are asked in the sample.
var qtypes = []uint16{
	dns.TypeA, dns.TypeA, dns.TypeA, dns.TypeA, dns.TypeAAAA, dns.TypeAAAA,
	dns.TypeMX, dns.TypeTXT, dns.TypePTR, dns.TypeNS, dns.TypeSOA, dns.TypeSRV,
}

var zones = []string{"example.com.", "example.net.", "example.org.", "test.example."}

// dnsPair is a query and its response on the wire.
type dnsPair struct {
	query, resp []byte
}

// randomName draws a name under one of the example zones; the label set is
// small so some names repeat, as real traffic does.
func randomName(r *rand.Rand) string {
	labels := []string{"www", "mail", "api", "cdn", "ns1", "static", "login", "img"}
	return fmt.Sprintf("%s%d.%s", labels[r.Intn(len(labels))], r.Intn(40), zones[r.Intn(len(zones))])
}

// buildDNS packs a query for name/qtype and a response with rcode. Answers
// are synthesized from the name so they are stable. ecs adds an EDNS Client
// Subnet option (RFC 7871) to the query.
func buildDNS(r *rand.Rand, name string, qtype uint16, rcode int, ecs bool) dnsPair {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.Id = uint16(r.Intn(1 << 16))
	q.RecursionDesired = true
	if ecs {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		o.Option = append(o.Option, &dns.EDNS0_SUBNET{
			Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24,
			Address: net.IPv4(198, 51, 100, 0).To4(),
		})
		q.Extra = append(q.Extra, o)
	}
	resp := new(dns.Msg)
	resp.SetReply(q)
	resp.RecursionAvailable = true
	resp.Rcode = rcode
	if rcode == dns.RcodeSuccess {
		resp.Answer = answers(r, name, qtype)
	} else {
		resp.Ns = []dns.RR{soa(zoneOf(name))}
	}
	return dnsPair{query: mustPack(q), resp: mustPack(resp)}
}

func zoneOf(name string) string {
	for _, z := range zones {
		if strings.HasSuffix(name, "."+z) || name == z {
			return z
		}
	}
	return "."
}

func soa(zone string) dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
		Ns: "ns1." + zone, Mbox: "hostmaster." + zone, Serial: 2024010101, Refresh: 3600, Retry: 600,
		Expire: 86400, Minttl: 300}
}

func answers(r *rand.Rand, name string, qtype uint16) []dns.RR {
	h := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: 300}
	switch qtype {
	case dns.TypeA:
		n := 1 + r.Intn(3)
		out := make([]dns.RR, n)
		for i := range out {
			out[i] = &dns.A{Hdr: h, A: net.IPv4(203, 0, 113, byte(1+r.Intn(250))).To4()}
		}
		return out
	case dns.TypeAAAA:
		ip := net.ParseIP(fmt.Sprintf("2001:db8:ffff::%x", 1+r.Intn(4000)))
		return []dns.RR{&dns.AAAA{Hdr: h, AAAA: ip}}
	case dns.TypeMX:
		return []dns.RR{&dns.MX{Hdr: h, Preference: 10, Mx: "mx1." + zoneOf(name)},
			&dns.MX{Hdr: h, Preference: 20, Mx: "mx2." + zoneOf(name)}}
	case dns.TypeTXT:
		return []dns.RR{&dns.TXT{Hdr: h, Txt: []string{fmt.Sprintf("v=spf1 ip4:198.51.100.0/24 -all %d", r.Intn(1000))}}}
	case dns.TypePTR:
		return []dns.RR{&dns.PTR{Hdr: h, Ptr: "host.example.com."}}
	case dns.TypeNS:
		return []dns.RR{&dns.NS{Hdr: h, Ns: "ns1." + zoneOf(name)}, &dns.NS{Hdr: h, Ns: "ns2." + zoneOf(name)}}
	case dns.TypeSOA:
		return []dns.RR{soa(zoneOf(name))}
	case dns.TypeSRV:
		return []dns.RR{&dns.SRV{Hdr: h, Priority: 0, Weight: 5, Port: 5060, Target: "sip." + zoneOf(name)}}
	}
	return nil
}

// bigTXT is a response large enough to need IP fragmentation.
func bigTXT(r *rand.Rand, name string) dnsPair {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeTXT)
	q.Id = uint16(r.Intn(1 << 16))
	q.SetEdns0(4096, false)
	resp := new(dns.Msg)
	resp.SetReply(q)
	for i := range 8 {
		resp.Answer = append(resp.Answer, &dns.TXT{
			Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
			Txt: []string{strings.Repeat(string(rune('a'+i)), 200)},
		})
	}
	return dnsPair{query: mustPack(q), resp: mustPack(resp)}
}

func mustPack(m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		panic(fmt.Sprintf("capgen: pack dns: %v", err))
	}
	return b
}

// tcpFramed prefixes a DNS message with its 2-byte length (RFC 1035 4.2.2).
func tcpFramed(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(out, byte(len(m)>>8), byte(len(m)))
		out = append(out, m...)
	}
	return out
}
