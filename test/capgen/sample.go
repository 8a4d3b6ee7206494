package capgen

import (
	"io"
	"math/rand"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Addresses of the sample capture. The host is the monitored machine
// (host_spec 192.0.2.10/32,2001:db8::10/128).
var (
	Host4 = netip.MustParseAddr("192.0.2.10")
	Host6 = netip.MustParseAddr("2001:db8::10")
	// Two remote machines that talk to each other past the host: their
	// packets have unknown direction under the host spec.
	transit4a = netip.MustParseAddr("198.51.100.200")
	transit4b = netip.MustParseAddr("203.0.113.200")
	gateway4  = netip.MustParseAddr("192.0.2.1")
)

// SampleBase is the timestamp of the sample capture's origin.
var SampleBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// SampleSpan is how long the sample capture lasts: long enough that a
// 60 s bucket rotates twice (three buckets).
const SampleSpan = 150 * time.Second

// SampleSeed is the fixed seed of the sample capture.
const SampleSeed = 20240101

// remotes4/remotes6 are the peers; a Zipf draw over their indexes makes a
// few of them dominate so top-N lists are meaningful.
func remotes4() []netip.Addr {
	out := make([]netip.Addr, 0, 50)
	for i := 1; i <= 25; i++ {
		out = append(out, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		out = append(out, netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
	}
	return out
}

func remotes6() []netip.Addr {
	out := make([]netip.Addr, 0, 20)
	for i := 1; i <= 20; i++ {
		out = append(out, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x53, 14: byte(i >> 8), 15: byte(i)}))
	}
	return out
}

// sampleGen holds the generator's state: one seeded source drives every
// choice, so the output depends only on the seed.
type sampleGen struct {
	r         *rand.Rand
	z4, z6    *rand.Zipf
	peers4    []netip.Addr
	peers6    []netip.Addr
	c         capture
	ipID      uint16
	ephemeral uint16
}

func (g *sampleGen) nextID() uint16 { g.ipID++; return g.ipID }

func (g *sampleGen) port() uint16 {
	g.ephemeral++
	return 32768 + g.ephemeral%28000
}

// start draws a conversation start time inside the span, leaving room for
// the conversation itself.
func (g *sampleGen) start() time.Duration {
	return time.Duration(g.r.Int63n(int64(SampleSpan - 2*time.Second)))
}

func (g *sampleGen) rtt() time.Duration {
	return time.Duration(1+g.r.Intn(40)) * time.Millisecond
}

func (g *sampleGen) encap() encap {
	switch x := g.r.Intn(100); {
	case x < 6:
		return encQinQ
	case x < 20:
		return encVLAN
	}
	return encPlain
}

func (g *sampleGen) peer4() netip.Addr { return g.peers4[g.z4.Uint64()] }
func (g *sampleGen) peer6() netip.Addr { return g.peers6[g.z6.Uint64()] }

func isHost(a netip.Addr) bool { return a == Host4 || a == Host6 }

func (g *sampleGen) rcode() int {
	switch x := g.r.Intn(100); {
	case x < 12:
		return dns.RcodeNameError
	case x < 15:
		return dns.RcodeServerFailure
	case x < 16:
		return dns.RcodeRefused
	}
	return dns.RcodeSuccess
}

// udpExchange adds a DNS query client→server and its response.
func (g *sampleGen) udpExchange(t time.Duration, e encap, client, server endpoint, p dnsPair) {
	g.c.add(t, udpFrame(e, isHost(client.addr), client, server, g.nextID(), p.query))
	g.c.add(t+g.rtt(), udpFrame(e, isHost(server.addr), server, client, g.nextID(), p.resp))
}

// tcpSend is one application write in a TCP session.
type tcpSend struct {
	fromClient bool
	data       []byte
}

// tcpSession adds a full connection: handshake, each send acknowledged by
// the peer, then FIN from the client, FIN from the server, last ACK.
func (g *sampleGen) tcpSession(t time.Duration, e encap, client, server endpoint, sends []tcpSend) {
	cseq, sseq := g.r.Uint32(), g.r.Uint32()
	out := func(src, dst endpoint, s tcpSeg) {
		t += g.rtt() / 2
		g.c.add(t, tcpFrame(e, isHost(src.addr), src, dst, g.nextID(), s))
	}
	const fin, syn, psh, ack = 0x01, 0x02, 0x08, 0x10
	out(client, server, tcpSeg{flags: syn, seq: cseq})
	cseq++
	out(server, client, tcpSeg{flags: syn | ack, seq: sseq, ack: cseq})
	sseq++
	out(client, server, tcpSeg{flags: ack, seq: cseq, ack: sseq})
	for _, s := range sends {
		if s.fromClient {
			out(client, server, tcpSeg{flags: psh | ack, seq: cseq, ack: sseq, payload: s.data})
			cseq += uint32(len(s.data))
			out(server, client, tcpSeg{flags: ack, seq: sseq, ack: cseq})
		} else {
			out(server, client, tcpSeg{flags: psh | ack, seq: sseq, ack: cseq, payload: s.data})
			sseq += uint32(len(s.data))
			out(client, server, tcpSeg{flags: ack, seq: cseq, ack: sseq})
		}
	}
	out(client, server, tcpSeg{flags: fin | ack, seq: cseq, ack: sseq})
	cseq++
	out(server, client, tcpSeg{flags: fin | ack, seq: sseq, ack: cseq})
	sseq++
	out(client, server, tcpSeg{flags: ack, seq: cseq, ack: sseq})
}

// Sample writes the mixed sample capture (see test/testdata/README.md).
func Sample(w io.Writer) error {
	r := rand.New(rand.NewSource(SampleSeed))
	g := &sampleGen{
		r: r, peers4: remotes4(), peers6: remotes6(),
		z4: rand.NewZipf(r, 1.3, 2, 49), z6: rand.NewZipf(r, 1.3, 2, 19),
	}
	g.dnsUDP()
	g.dnsTCP()
	g.otherTCP()
	g.icmp()
	g.oddities()
	return g.c.write(w, SampleBase)
}

// dnsUDP: the host as a stub client of remote resolvers, and as a server
// for remote clients, over IPv4 and IPv6.
func (g *sampleGen) dnsUDP() {
	for range 140 { // host asks remote IPv4 resolvers
		p := buildDNS(g.r, randomName(g.r), qtypes[g.r.Intn(len(qtypes))], g.rcode(), false)
		g.udpExchange(g.start(), g.encap(), endpoint{Host4, g.port()}, endpoint{g.peer4(), 53}, p)
	}
	for range 90 { // remote IPv4 clients ask the host
		p := buildDNS(g.r, randomName(g.r), qtypes[g.r.Intn(len(qtypes))], g.rcode(), false)
		g.udpExchange(g.start(), g.encap(), endpoint{g.peer4(), g.port()}, endpoint{Host4, 53}, p)
	}
	for range 45 { // host asks remote IPv6 resolvers
		p := buildDNS(g.r, randomName(g.r), qtypes[g.r.Intn(len(qtypes))], g.rcode(), false)
		g.udpExchange(g.start(), g.encap(), endpoint{Host6, g.port()}, endpoint{g.peer6(), 53}, p)
	}
	for range 30 { // remote IPv6 clients ask the host
		p := buildDNS(g.r, randomName(g.r), qtypes[g.r.Intn(len(qtypes))], g.rcode(), false)
		g.udpExchange(g.start(), g.encap(), endpoint{g.peer6(), g.port()}, endpoint{Host6, 53}, p)
	}
	// One query carrying EDNS Client Subnet.
	p := buildDNS(g.r, "www.example.com.", dns.TypeA, dns.RcodeSuccess, true)
	g.udpExchange(g.start(), encPlain, endpoint{g.peer4(), g.port()}, endpoint{Host4, 53}, p)
	// A query that is never answered.
	q := buildDNS(g.r, "lost.example.org.", dns.TypeA, dns.RcodeSuccess, false)
	g.c.add(g.start(), udpFrame(encPlain, true, endpoint{Host4, g.port()}, endpoint{g.peer4(), 53}, g.nextID(), q.query))
}

// dnsTCP: DNS over TCP with the framing cases a reassembler must handle.
func (g *sampleGen) dnsTCP() {
	name := func() string { return randomName(g.r) }
	// Plain: one query, one response; the host is the client.
	p := buildDNS(g.r, name(), dns.TypeA, dns.RcodeSuccess, false)
	g.tcpSession(g.start(), encPlain, endpoint{Host4, g.port()}, endpoint{g.peer4(), 53},
		[]tcpSend{{true, tcpFramed(p.query)}, {false, tcpFramed(p.resp)}})
	// The response split over two segments (inside its length prefix's
	// message, after a few bytes).
	p = buildDNS(g.r, name(), dns.TypeMX, dns.RcodeSuccess, false)
	resp := tcpFramed(p.resp)
	g.tcpSession(g.start(), encPlain, endpoint{g.peer4(), g.port()}, endpoint{Host4, 53},
		[]tcpSend{{true, tcpFramed(p.query)}, {false, resp[:7]}, {false, resp[7:]}})
	// Two queries in one segment, two responses in one segment.
	p1 := buildDNS(g.r, name(), dns.TypeA, dns.RcodeSuccess, false)
	p2 := buildDNS(g.r, name(), dns.TypeAAAA, dns.RcodeNameError, false)
	g.tcpSession(g.start(), encVLAN, endpoint{Host4, g.port()}, endpoint{g.peer4(), 53},
		[]tcpSend{{true, tcpFramed(p1.query, p2.query)}, {false, tcpFramed(p1.resp, p2.resp)}})
	// Over IPv6, the host is the server.
	p = buildDNS(g.r, name(), dns.TypeTXT, dns.RcodeSuccess, false)
	g.tcpSession(g.start(), encPlain, endpoint{g.peer6(), g.port()}, endpoint{Host6, 53},
		[]tcpSend{{true, tcpFramed(p.query)}, {false, tcpFramed(p.resp)}})
}

// otherTCP: short HTTPS-like connections from the host, inbound
// connections to its SSH port, and an unanswered SYN scan.
func (g *sampleGen) otherTCP() {
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(g.r.Intn(256))
		}
		return b
	}
	for range 22 {
		srv := endpoint{g.peer4(), 443}
		if g.r.Intn(4) == 0 {
			srv = endpoint{g.peer6(), 443}
		}
		cli := endpoint{Host4, g.port()}
		if srv.addr.Is6() {
			cli.addr = Host6
		}
		g.tcpSession(g.start(), g.encap(), cli, srv,
			[]tcpSend{{true, blob(120 + g.r.Intn(200))}, {false, blob(200 + g.r.Intn(400))}})
	}
	for range 6 {
		g.tcpSession(g.start(), g.encap(), endpoint{g.peer4(), g.port()}, endpoint{Host4, 22},
			[]tcpSend{{false, []byte("SSH-2.0-OpenSSH_9.2\r\n")}, {true, []byte("SSH-2.0-client\r\n")}})
	}
	// A scanner probes 30 ports; the host answers each with RST.
	scanner := g.peers4[len(g.peers4)-1]
	t := g.start()
	for i := range 30 {
		src := endpoint{scanner, 40000}
		dst := endpoint{Host4, uint16(1000 + i*7)}
		t += 5 * time.Millisecond
		g.c.add(t, tcpFrame(encPlain, false, src, dst, g.nextID(), tcpSeg{flags: 0x02, seq: 1000}))
		t += time.Millisecond
		g.c.add(t, tcpFrame(encPlain, true, dst, src, g.nextID(), tcpSeg{flags: 0x14, ack: 1001}))
	}
}

// icmp: echo request/reply pairs over IPv4 and IPv6, both ways.
func (g *sampleGen) icmp() {
	for i := range 16 {
		peer := g.peer4()
		t, e := g.start(), g.encap()
		if i%4 == 0 { // the peer pings the host
			g.c.add(t, icmpEcho(e, false, peer, Host4, 7, uint16(i), false))
			g.c.add(t+g.rtt(), icmpEcho(e, true, Host4, peer, 7, uint16(i), true))
			continue
		}
		g.c.add(t, icmpEcho(e, true, Host4, peer, 9, uint16(i), false))
		g.c.add(t+g.rtt(), icmpEcho(e, false, peer, Host4, 9, uint16(i), true))
	}
	for i := range 8 {
		peer := g.peer6()
		t, e := g.start(), g.encap()
		g.c.add(t, icmpEcho(e, true, Host6, peer, 11, uint16(i), false))
		g.c.add(t+g.rtt(), icmpEcho(e, false, peer, Host6, 11, uint16(i), true))
	}
}

// oddities: frames that exercise decoder edge cases.
func (g *sampleGen) oddities() {
	// IPv4 fragmented UDP: a large DNS response in two fragments (first
	// carries the UDP header, the later one only data).
	big := bigTXT(g.r, "big.example.com.")
	cli, srv := endpoint{g.peer4(), g.port()}, endpoint{Host4, 53}
	t := g.start()
	g.c.add(t, udpFrame(encPlain, false, cli, srv, g.nextID(), big.query))
	t += g.rtt()
	for i, f := range ipv4Fragments(encPlain, true, srv, cli, g.nextID(), big.resp, 1480) {
		g.c.add(t+time.Duration(i)*time.Microsecond, f)
	}
	// The same over IPv6 with fragment headers.
	big = bigTXT(g.r, "big.example.net.")
	cli6, srv6 := endpoint{g.peer6(), g.port()}, endpoint{Host6, 53}
	t = g.start()
	g.c.add(t, udpFrame(encPlain, false, cli6, srv6, g.nextID(), big.query))
	t += g.rtt()
	for i, f := range ipv6Fragments(encPlain, true, srv6, cli6, 0x5eed0001, big.resp, 1232) {
		g.c.add(t+time.Duration(i)*time.Microsecond, f)
	}
	// IPv6 with a hop-by-hop options header before UDP.
	p := buildDNS(g.r, "hbh.example.org.", dns.TypeAAAA, dns.RcodeSuccess, false)
	g.c.add(g.start(), ipv6HopByHopUDP(encPlain, false, endpoint{g.peer6(), g.port()}, endpoint{Host6, 53}, p.query))
	// A frame captured short: the DNS response is cut after 60 bytes, so
	// the capture length is below the IP total length (the UDP header is
	// still whole).
	p = buildDNS(g.r, "truncated.example.com.", dns.TypeA, dns.RcodeSuccess, false)
	full := udpFrame(encPlain, true, endpoint{Host4, 53}, endpoint{g.peer4(), g.port()}, g.nextID(), p.resp)
	g.c.addTruncated(g.start(), full, 60)
	// Traffic between two other machines (unknown direction): NTP.
	for range 12 {
		t := g.start()
		ntp := make([]byte, 48)
		ntp[0] = 0x23
		a, b := endpoint{transit4a, 123}, endpoint{transit4b, 123}
		g.c.add(t, udpFrame(encPlain, false, a, b, g.nextID(), ntp))
		ntp[0] = 0x24
		g.c.add(t+g.rtt(), udpFrame(encPlain, false, b, a, g.nextID(), ntp))
	}
	// Non-IP: ARP request and reply.
	t = g.start()
	g.c.add(t, arpFrame(Host4, gateway4, false))
	g.c.add(t+time.Millisecond, arpFrame(gateway4, Host4, true))
	// A packet from the host with the peer in a QinQ frame, and a
	// VLAN-tagged IPv6 echo, so both tag kinds carry both families.
	g.c.add(g.start(), icmpEcho(encQinQ, true, Host6, g.peer6(), 13, 1, false))
}
