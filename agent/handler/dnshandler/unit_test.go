package dnshandler_test

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/dnshandler"
	"github.com/visorng/visor/decode"
)

var (
	client = netip.MustParseAddr("192.0.2.1")
	server = netip.MustParseAddr("192.0.2.53")
	t0     = time.Unix(1700000000, 0)
)

func wire(t testing.TB, name string, qtype uint16, id uint16, reply bool, rcode int, answers int) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.Id = id
	if reply {
		m.Response = true
		m.Rcode = rcode
		for i := 0; i < answers; i++ {
			rr, _ := dns.NewRR(dns.Fqdn(name) + " 60 IN A 198.51.100.1")
			m.Answer = append(m.Answer, rr)
		}
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// udp builds a decoded UDP packet between client:port and server:53; the
// host is the server (host_spec direction set by the caller's choice).
func udp(payload []byte, fromClient bool, port uint16, ts time.Time) *decode.Packet {
	p := &decode.Packet{Timestamp: ts, L3: decode.L3IPv4, L4: decode.L4UDP, IPProto: 17, Payload: payload}
	if fromClient {
		p.Src, p.Dst, p.SrcPort, p.DstPort, p.Dir = client, server, port, 53, decode.DirIn
	} else {
		p.Src, p.Dst, p.SrcPort, p.DstPort, p.Dir = server, client, 53, port, decode.DirOut
	}
	return p
}

func newV1(t testing.TB, cfg handler.Config) handler.Handler {
	t.Helper()
	h, err := dnshandler.NewV1("t", handler.Config{"num_periods": uint64(1)}.Merge(cfg), handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newV2(t testing.TB, cfg handler.Config) handler.Handler {
	t.Helper()
	h, err := dnshandler.NewV2("t", handler.Config{"num_periods": uint64(1)}.Merge(cfg), handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestTransactions checks pairing, latency direction and the TTL.
func TestTransactions(t *testing.T) {
	v1, v2 := newV1(t, nil), newV2(t, handler.Config{"enable": []string{"xact_times"}})
	feed := func(p *decode.Packet) {
		v1.(handler.PacketConsumer).HandlePacket(p)
		v2.(handler.PacketConsumer).HandlePacket(p)
	}
	// 3 answered within the TTL (server side: "in"), 1 answered after 6 s.
	for i := 0; i < 3; i++ {
		ts := t0.Add(time.Duration(i) * time.Second)
		feed(udp(wire(t, "a.example.com", dns.TypeA, uint16(i), false, 0, 0), true, 40000, ts))
		feed(udp(wire(t, "a.example.com", dns.TypeA, uint16(i), true, 0, 1), false, 40000, ts.Add(2*time.Millisecond)))
	}
	feed(udp(wire(t, "late.example.com", dns.TypeA, 9, false, 0, 0), true, 40001, t0))
	feed(udp(wire(t, "late.example.com", dns.TypeA, 9, true, 0, 1), false, 40001, t0.Add(6*time.Second)))
	// An orphan reply.
	feed(udp(wire(t, "o.example.com", dns.TypeA, 77, true, 3, 0), false, 40002, t0))

	s := section(t, v1)
	for k, want := range map[string]uint64{"total": 3, "timed_out": 1} {
		if got := num(path(s, "xact", "counts", k)); got != want {
			t.Errorf("xact.counts.%s = %d, want %d", k, got, want)
		}
	}
	if got := num(path(s, "xact", "in", "total")); got != 3 {
		t.Errorf("xact.in.total = %d, want 3 (replies from the host)", got)
	}
	if got := num(path(s, "xact", "in", "quantiles_us", "p50")); got < 1980 || got > 2020 {
		t.Errorf("xact.in p50 = %d µs, want ≈2000", got)
	}
	s2 := section(t, v2)
	for k, want := range map[string]uint64{"xacts": 3, "timeout_queries": 1, "orphan_responses": 1, "nxdomain_xacts": 0} {
		if got := num(path(s2, "in", k)); got != want {
			t.Errorf("v2 in.%s = %d, want %d", k, got, want)
		}
	}
	if path(s2, "in", "xact_histogram_us") == nil {
		t.Error("v2 xact_histogram_us missing with xact_times enabled")
	}
}

// TestFilters runs each filter over the same mix and checks what passed.
func TestFilters(t *testing.T) {
	type msg struct {
		name   string
		qtype  uint16
		reply  bool
		rcode  int
		answer int
	}
	mix := []msg{
		{"a.example.com", dns.TypeA, false, 0, 0},
		{"a.example.com", dns.TypeA, true, 0, 1},
		{"b.example.org", dns.TypeAAAA, false, 0, 0},
		{"b.example.org", dns.TypeAAAA, true, 3, 0},
		{"c.example.net", dns.TypeMX, false, 0, 0},
		{"c.example.net", dns.TypeMX, true, 0, 0},
		{"d.example.com", dns.TypeTXT, true, 5, 0},
	}
	for _, tc := range []struct {
		cfg      handler.Config
		total    uint64
		filtered uint64
	}{
		{handler.Config{}, 7, 0},
		{handler.Config{"exclude_noerror": true}, 2, 5},
		{handler.Config{"only_rcode": uint64(3)}, 1, 6},
		{handler.Config{"only_rcode": []any{"nxdomain", "5"}}, 2, 5},
		{handler.Config{"only_queries": true}, 3, 4},
		{handler.Config{"only_responses": true}, 4, 3},
		{handler.Config{"answer_count": uint64(1)}, 1, 6},
		{handler.Config{"only_qtype": []any{"aaaa", "15"}}, 4, 3},
		{handler.Config{"only_qname": []any{"A.example.com."}}, 2, 5},
		{handler.Config{"only_qname_suffix": []any{".COM"}}, 3, 4},
		{handler.Config{"only_dnssec_response": true}, 0, 7},
		{handler.Config{"geoloc_notfound": true}, 0, 7}, // no database: nothing passes
	} {
		h := newV1(t, tc.cfg)
		for i, m := range mix {
			h.(handler.PacketConsumer).HandlePacket(udp(wire(t, m.name, m.qtype, uint16(i), m.reply, m.rcode, m.answer), !m.reply, 40000, t0))
		}
		s := section(t, h)
		if got := num(path(s, "wire_packets", "total")); got != tc.total {
			t.Errorf("%v: total %d, want %d", tc.cfg, got, tc.total)
		}
		if got := num(path(s, "wire_packets", "filtered")); got != tc.filtered {
			t.Errorf("%v: filtered %d, want %d", tc.cfg, got, tc.filtered)
		}
		if got := num(path(s, "wire_packets", "events")); got != 7 {
			t.Errorf("%v: events %d, want 7 (filtered events count)", tc.cfg, got)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  handler.Config
		want string
	}{
		{handler.Config{"bogus": true}, "bogus is an invalid/unsupported config or filter. The valid configs/filters are: exclude_noerror"},
		{handler.Config{"only_rcode": uint64(99)}, "only_rcode filter contained an invalid/unsupported rcode"},
		{handler.Config{"only_qtype": []any{"NOPE"}}, "only_qtype filter contained an invalid/unsupported qtype: NOPE"},
		{handler.Config{"dnstap_msg_type": "x"}, "dnstap_msg_type contained an invalid/unsupported type. Valid types: auth, client, forwarder, resolver, stub, tool, update"},
		{handler.Config{"public_suffix_list": true}, "public_suffix_list requires public_suffix_list_file"},
		{handler.Config{"enable": []any{"nope"}}, "nope is an invalid/unsupported metric group. The valid groups are: all, cardinality, counters"},
		{handler.Config{"dns_ports": []any{"0"}}, "dns_ports contained an invalid port"},
	} {
		_, err := dnshandler.NewV1("t", tc.cfg, handler.Env{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := dnshandler.NewV1("t", handler.Config{"only_xact_directions": []any{"in"}}, handler.Env{}); err == nil {
		t.Error("v1 accepted only_xact_directions")
	}
	if _, err := dnshandler.NewV2("t", handler.Config{"only_xact_directions": []any{"in"}}, handler.Env{}); err != nil {
		t.Errorf("v2 rejected only_xact_directions: %v", err)
	}
	if _, err := dnshandler.NewV2("t", handler.Config{"only_queries": true}, handler.Env{}); err == nil {
		t.Error("v2 accepted only_queries")
	}
}

func TestPublicSuffixAndPorts(t *testing.T) {
	psl := fixture(t, "public_suffix_list.dat")
	h := newV1(t, handler.Config{"public_suffix_list": true, "public_suffix_list_file": psl, "dns_ports": []any{"8053"}})
	p := udp(wire(t, "www.google.co.uk", dns.TypeA, 1, false, 0, 0), true, 40000, t0)
	p.DstPort = 8053
	h.(handler.PacketConsumer).HandlePacket(p)
	s := section(t, h)
	rows := s["top_qname2"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["name"] != ".google.co.uk" {
		t.Errorf("top_qname2 %v, want .google.co.uk", rows)
	}
}

// TestQuirk4 pins the v2 fix: a filtered reply whose query passed counts
// once in filtered_packets.
func TestQuirk4(t *testing.T) {
	h := newV2(t, handler.Config{"only_rcode": uint64(3)})
	pc := h.(handler.PacketConsumer)
	pc.HandlePacket(udp(wire(t, "a.example.com", dns.TypeA, 1, false, 0, 0), true, 40000, t0))
	pc.HandlePacket(udp(wire(t, "a.example.com", dns.TypeA, 1, true, 0, 1), false, 40000, t0))
	if got := num(path(section(t, h), "filtered_packets")); got != 1 {
		t.Errorf("filtered_packets %d, want 1", got)
	}
}

// TestRotationPurge checks that at a period shift open queries older than
// the TTL become timeouts and the closed bucket's p90 becomes the slow
// threshold.
func TestRotationPurge(t *testing.T) {
	h, err := dnshandler.NewV1("t", handler.Config{"num_periods": uint64(3)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	h.(handler.Bounded).StartAt(t0)
	pc := h.(handler.PacketConsumer)
	for i := 0; i < 20; i++ {
		ts := t0.Add(time.Duration(i) * time.Second)
		pc.HandlePacket(udp(wire(t, "fast.example.com", dns.TypeA, uint16(i), false, 0, 0), true, 40000, ts))
		pc.HandlePacket(udp(wire(t, "fast.example.com", dns.TypeA, uint16(i), true, 0, 1), false, 40000, ts.Add(time.Millisecond)))
	}
	pc.HandlePacket(udp(wire(t, "lost.example.com", dns.TypeA, 500, false, 0, 0), true, 40001, t0.Add(30*time.Second)))
	// Next period: one slow transaction.
	ts := t0.Add(61 * time.Second)
	pc.HandlePacket(udp(wire(t, "slow.example.com", dns.TypeA, 600, false, 0, 0), true, 40002, ts))
	pc.HandlePacket(udp(wire(t, "slow.example.com", dns.TypeA, 600, true, 0, 1), false, 40002, ts.Add(50*time.Millisecond)))
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	xact := obj["xact"].(map[string]any)
	if got := xact["counts"].(map[string]any)["timed_out"]; got != uint64(1) {
		t.Errorf("timed_out %v, want 1 (purged at the shift)", got)
	}
	slow := xact["in"].(map[string]any)["top_slow"]
	if s, _ := slow.([]any); len(s) != 1 {
		t.Errorf("top_slow %v, want slow.example.com", s)
	}
}

// TestZeroAllocUDP: the UDP path allocates nothing once the transaction
// table and sketches are warm.
func TestZeroAllocUDP(t *testing.T) {
	for _, mk := range []func(testing.TB, handler.Config) handler.Handler{newV1, newV2} {
		h := mk(t, nil)
		pc := h.(handler.PacketConsumer)
		var pkts []*decode.Packet
		for i := 0; i < 64; i++ {
			name := []string{"a.example.com", "b.example.org", "c.example.net", "d.test"}[i%4]
			pkts = append(pkts,
				udp(wire(t, name, dns.TypeA, uint16(i), false, 0, 0), true, uint16(40000+i%8), t0),
				udp(wire(t, name, dns.TypeA, uint16(i), true, i%4, i%2), false, uint16(40000+i%8), t0))
		}
		for _, p := range pkts {
			pc.HandlePacket(p)
		}
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			pc.HandlePacket(pkts[i%len(pkts)])
			i++
		})
		if allocs != 0 {
			t.Errorf("%T: %v allocs per packet, want 0", h, allocs)
		}
	}
}

// TestRandomQnameFlood: a flood of distinct names keeps the top lists at
// their capacity and the transaction table at its bound.
func TestRandomQnameFlood(t *testing.T) {
	h := newV1(t, handler.Config{"xact_max_open": uint64(1000)})
	pc := h.(handler.PacketConsumer)
	r := rand.New(rand.NewPCG(1, 2))
	const n = 50000
	for i := 0; i < n; i++ {
		var b strings.Builder
		for j := 0; j < 12; j++ {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		pc.HandlePacket(udp(wire(t, b.String()+".flood.example", dns.TypeA, uint16(i), false, 0, 0), true, uint16(1024+i%60000), t0))
	}
	if o := h.(*dnshandler.V1).OpenTransactions(); o != 1000 {
		t.Errorf("open transactions %d, want the bound 1000", o)
	}
	s := section(t, h)
	if got := num(path(s, "xact", "counts", "evicted")); got != n-1000 {
		t.Errorf("evicted %d, want %d", got, n-1000)
	}
	card := float64(num(path(s, "cardinality", "qname")))
	if card < n*0.97 || card > n*1.03 {
		t.Errorf("cardinality %v, want ≈%d", card, n)
	}
	if rows := s["top_qname3"].([]any); len(rows) != 10 {
		t.Errorf("top_qname3 rows %d", len(rows))
	}
}

// TestHostileMessages: truncated messages and compression loops are counted
// as malformed, never panic, and do not stop later messages.
func TestHostileMessages(t *testing.T) {
	h := newV1(t, nil)
	pc := h.(handler.PacketConsumer)
	good := wire(t, "ok.example.com", dns.TypeA, 1, false, 0, 0)
	loop := append([]byte{0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0xC0, 12, 0, 1, 0, 1) // name points at itself
	for _, b := range [][]byte{good[:5], good[:15], loop, good} {
		pc.HandlePacket(udp(b, true, 40000, t0))
	}
	s := section(t, h)
	if got := num(path(s, "wire_packets", "malformed")); got != 3 {
		t.Errorf("malformed %d, want 3", got)
	}
	if got := num(path(s, "wire_packets", "queries")); got != 3 {
		t.Errorf("queries %d, want 3 (two counted by header, one whole)", got)
	}
}

// TestTCPNeverCloses: data of many connections that never close stays
// bounded by the reassembler and the framer; partial messages are dropped
// when the input flushes.
func TestTCPNeverCloses(t *testing.T) {
	h := newV1(t, nil)
	tc := h.(handler.TCPConsumer)
	msg := wire(t, "tcp.example.com", dns.TypeA, 1, false, 0, 0)
	framed := append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)
	for c := uint64(0); c < 100000; c++ {
		d := &handler.TCPData{Conn: c, L3: decode.L3IPv4, Src: client, Dst: server, SrcPort: 40000, DstPort: 53,
			Timestamp: t0, Data: framed[:len(framed)-3]} // never completed
		tc.TCPData(d)
		if c%2 == 0 {
			tc.TCPClose(c, t0)
		}
	}
	s := section(t, h)
	if got := num(path(s, "wire_packets", "total")); got != 0 {
		t.Errorf("total %d, want 0 (no message completed)", got)
	}
}

// FuzzHandlePacket: arbitrary UDP payloads never panic and counters stay
// consistent.
func FuzzHandlePacket(f *testing.F) {
	f.Add(wire(f, "a.example.com", dns.TypeA, 1, false, 0, 0))
	f.Add(wire(f, "a.example.com", dns.TypeA, 1, true, 3, 0))
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xC0, 12})
	v1, v2 := newV1(f, handler.Config{"enable": []any{"all"}}), newV2(f, handler.Config{"enable": []any{"all"}})
	f.Fuzz(func(t *testing.T, b []byte) {
		for i, reply := range []bool{false, true} {
			p := udp(b, !reply, 40000, t0.Add(time.Duration(i)*time.Millisecond))
			v1.(handler.PacketConsumer).HandlePacket(p)
			v2.(handler.PacketConsumer).HandlePacket(p)
		}
		s := section(t, v1)
		if num(path(s, "wire_packets", "total"))+num(path(s, "wire_packets", "filtered")) != num(path(s, "wire_packets", "events")) {
			t.Fatalf("total+filtered != events: %v", s["wire_packets"])
		}
	})
}
