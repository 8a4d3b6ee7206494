package dns

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

func pack(t testing.TB, m *mdns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func queryMsg(t testing.TB) []byte {
	m := new(mdns.Msg)
	m.SetQuestion("WWW.Example.COM.", mdns.TypeAAAA)
	m.Id = 0xBEEF
	m.CheckingDisabled = true
	return pack(t, m)
}

func ecsQueryMsg(t testing.TB) []byte {
	m := new(mdns.Msg)
	m.SetQuestion("ecs.example.net.", mdns.TypeA)
	m.SetEdns0(1232, true)
	opt := m.IsEdns0()
	opt.Option = append(opt.Option,
		&mdns.EDNS0_COOKIE{Code: mdns.EDNS0COOKIE, Cookie: "0102030405060708"},
		&mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: 2, SourceNetmask: 56, Address: net.ParseIP("2001:db8:1234:5600::")})
	return pack(t, m)
}

func responseMsg(t testing.TB) []byte {
	m := new(mdns.Msg)
	m.SetQuestion("signed.example.org.", mdns.TypeA)
	r := new(mdns.Msg)
	r.SetReply(m)
	r.Compress = true
	r.AuthenticatedData = true
	a, _ := mdns.NewRR("signed.example.org. 300 IN A 192.0.2.1")
	sig, _ := mdns.NewRR("signed.example.org. 300 IN RRSIG A 8 3 300 20300101000000 20200101000000 12345 example.org. AAAA")
	ns, _ := mdns.NewRR("example.org. 300 IN NS ns1.example.org.")
	r.Answer = []mdns.RR{a, sig}
	r.Ns = []mdns.RR{ns}
	r.SetEdns0(4096, true)
	r.Rcode = mdns.RcodeBadVers // miekg splits it into header and OPT bits
	return pack(t, r)
}

func TestParseQuery(t *testing.T) {
	var m Message
	if err := Parse(queryMsg(t), &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != 0xBEEF || m.QR || !m.RD || !m.CD || m.AD || m.Rcode != 0 || m.QDCount != 1 {
		t.Errorf("header: %+v", m)
	}
	if got := m.QNameString(); got != "www.example.com" {
		t.Errorf("qname %q", got)
	}
	if m.QType != mdns.TypeAAAA || m.QClass != mdns.ClassINET || !m.HasQuestion {
		t.Errorf("question: type %d class %d", m.QType, m.QClass)
	}
	if m.EDNS.Present || m.ECS.Present || m.Answers != 0 {
		t.Errorf("unexpected EDNS/ECS/answers: %+v %+v %d", m.EDNS, m.ECS, m.Answers)
	}
}

func TestParseECSQuery(t *testing.T) {
	var m Message
	if err := Parse(ecsQueryMsg(t), &m); err != nil {
		t.Fatal(err)
	}
	want := ClientSubnet{Present: true, Family: 2, SourcePrefix: 56, Addr: netip.MustParseAddr("2001:db8:1234:5600::")}
	if m.ECS != want {
		t.Errorf("ECS %+v, want %+v (ECS must be found after a cookie option)", m.ECS, want)
	}
	if !m.EDNS.Present || m.EDNS.UDPSize != 1232 || !m.EDNS.DO {
		t.Errorf("EDNS %+v", m.EDNS)
	}
}

func TestParseResponse(t *testing.T) {
	var m Message
	if err := Parse(responseMsg(t), &m); err != nil {
		t.Fatal(err)
	}
	if !m.QR || !m.AD || m.Answers != 2 || !m.HasRRSIG || m.NSCount != 1 || m.ARCount != 1 {
		t.Errorf("response: %+v", m)
	}
	if m.FullRcode() != mdns.RcodeBadVers || m.Rcode != mdns.RcodeBadVers&0xF || m.EDNS.ExtRcode != mdns.RcodeBadVers>>4 {
		t.Errorf("rcode %d ext %d full %d", m.Rcode, m.EDNS.ExtRcode, m.FullRcode())
	}
	if m.EDNS.UDPSize != 4096 || !m.EDNS.DO {
		t.Errorf("EDNS %+v", m.EDNS)
	}
}

// TestParseResets checks that Parse leaves nothing from an earlier message.
func TestParseResets(t *testing.T) {
	var fresh, reused Message
	short := queryMsg(t)
	if err := Parse(short, &fresh); err != nil {
		t.Fatal(err)
	}
	_ = Parse(responseMsg(t), &reused)
	_ = Parse(ecsQueryMsg(t), &reused)
	if err := Parse(short, &reused); err != nil {
		t.Fatal(err)
	}
	if reused.QNameString() != fresh.QNameString() {
		t.Fatal("qname differs")
	}
	reused.qname, fresh.qname = [MaxNamePresentationLen]byte{}, [MaxNamePresentationLen]byte{}
	if !reflect.DeepEqual(reused, fresh) {
		t.Errorf("reused %+v\nfresh %+v", reused, fresh)
	}
}

// header builds a 12-byte header with the given counts.
func header(qd, an, ns, ar uint16) []byte {
	h := make([]byte, 12)
	binary.BigEndian.PutUint16(h[0:], 0x1234)
	binary.BigEndian.PutUint16(h[4:], qd)
	binary.BigEndian.PutUint16(h[6:], an)
	binary.BigEndian.PutUint16(h[8:], ns)
	binary.BigEndian.PutUint16(h[10:], ar)
	return h
}

func label(n int, b byte) []byte {
	l := []byte{byte(n)}
	for range n {
		l = append(l, b)
	}
	return l
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var typeA = []byte{0, 1, 0, 1}

func TestHostile(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"short header", []byte{1, 2, 3}, ErrTruncated},
		{"self pointer", cat(header(1, 0, 0, 0), []byte{0xC0, 12}, typeA), ErrPointerLoop},
		{"forward pointer", cat(header(1, 0, 0, 0), []byte{0xC0, 14, 0}, typeA), ErrPointerLoop},
		{"two-pointer cycle", cat(header(1, 0, 0, 0), []byte{0xC0, 14, 0xC0, 12}, typeA), ErrPointerLoop},
		{"label then pointer back into itself", cat(header(1, 0, 0, 0), label(1, 'a'), []byte{0xC0, 12}, typeA), ErrPointerLoop},
		{"pointer past end", cat(header(1, 0, 0, 0), []byte{0xFF, 0xFF}, typeA), ErrPointerLoop},
		{"pointer cut", cat(header(1, 0, 0, 0), []byte{0xC0}), ErrTruncated},
		{"64-byte label", cat(header(1, 0, 0, 0), label(64, 'a'), []byte{0}, typeA), ErrMalformed},
		{"0x80 label type", cat(header(1, 0, 0, 0), []byte{0x80, 0}, typeA), ErrMalformed},
		{"256-octet name", cat(header(1, 0, 0, 0), label(63, 'a'), label(63, 'b'), label(63, 'c'), label(62, 'd'), []byte{0}, typeA), ErrNameTooLong},
		{"label past end", cat(header(1, 0, 0, 0), []byte{10, 'a', 'b'}), ErrTruncated},
		{"question without qtype", cat(header(1, 0, 0, 0), label(1, 'a'), []byte{0}), ErrTruncated},
		{"answer cut in rdata", cat(header(1, 1, 0, 0), []byte{0}, typeA, []byte{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2}), ErrTruncated},
		{"answer name too long", cat(header(0, 1, 0, 0), label(63, 'a'), label(63, 'b'), label(63, 'c'), label(62, 'd'), []byte{0}), ErrNameTooLong},
		{"opt option overflows rdata", cat(header(0, 0, 0, 1), []byte{0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 6, 0, 8, 0, 9, 0, 1}), ErrMalformed},
		{"ecs bad family", cat(header(0, 0, 0, 1), []byte{0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 4, 0, 3, 24, 0}), ErrMalformed},
		{"ecs v4 prefix 33", cat(header(0, 0, 0, 1), []byte{0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 12, 0, 8, 0, 8, 0, 1, 33, 0, 1, 2, 3, 4}), ErrMalformed},
		{"ecs short", cat(header(0, 0, 0, 1), []byte{0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 6, 0, 8, 0, 2, 0, 1}), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := Parse(tc.msg, &m)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// Every failure miekg/dns also rejects, except forward
			// pointers it tolerates (documented difference).
			var mm mdns.Msg
			if mm.Unpack(tc.msg) == nil && tc.want != ErrPointerLoop && tc.name != "question without qtype" {
				t.Errorf("miekg accepts what Parse rejects")
			}
		})
	}
}

func TestLenientCounts(t *testing.T) {
	// Header-only replies (seen from public resolvers refusing) and counts
	// that overstate records at a record boundary parse like miekg/dns.
	for _, msg := range [][]byte{
		header(1, 0, 0, 0),
		cat(header(1, 5, 5, 5), label(1, 'a'), []byte{0}, typeA),
	} {
		var m Message
		if err := Parse(msg, &m); err != nil {
			t.Errorf("Parse: %v", err)
		}
		if d := crossCheck(msg); d != "" {
			t.Error(d)
		}
	}
}

func TestErrorDetails(t *testing.T) {
	var m Message
	err := Parse(cat(header(1, 1, 0, 0), []byte{0}, typeA, []byte{0, 0, 1}), &m)
	var e *Error
	if !errors.As(err, &e) || e.Section() != SectionAnswer {
		t.Fatalf("want *Error in answer section, got %v", err)
	}
	if err.Error() != "dns: truncated message in answer section" {
		t.Errorf("text %q", err.Error())
	}
	if errors.Is(err, ErrMalformed) || !errors.Is(err, ErrTruncated) {
		t.Error("errors.Is confuses kinds")
	}
}

func TestNamePresentation(t *testing.T) {
	tests := []struct {
		wire []byte
		want string
	}{
		{[]byte{0}, "."},
		{cat(label(3, 'W'), []byte{2, 'a', 'B', 0}), "www.ab"},
		{[]byte{6, 0, '.', ' ', 'A', 0xFF, '\\', 0}, `\000\.\ a\255\\`},
		{[]byte{5, '@', ';', '(', ')', '"', 1, '\'', 0}, `\@\;\(\)\".\'`},
	}
	for _, tc := range tests {
		msg := cat(header(1, 0, 0, 0), tc.wire, typeA)
		var m Message
		if err := Parse(msg, &m); err != nil {
			t.Fatalf("%q: %v", tc.want, err)
		}
		if got := m.QNameString(); got != tc.want {
			t.Errorf("got %q want %q", got, tc.want)
		}
		if d := crossCheck(msg); d != "" {
			t.Errorf("%q: %s", tc.want, d)
		}
	}
}

// TestWorstCaseName fills the name buffer to the last byte: the longest wire
// name, every byte escaped.
func TestWorstCaseName(t *testing.T) {
	msg := cat(header(1, 0, 0, 0), label(63, 0xFF), label(63, 0xFF), label(63, 0xFF), label(61, 0xFF), []byte{0}, typeA)
	var m Message
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	if n := len(m.QNameBytes()); n != MaxNamePresentationLen {
		t.Errorf("len %d, want %d", n, MaxNamePresentationLen)
	}
	if d := crossCheck(msg); d != "" {
		t.Error(d)
	}
}

func TestPointerHops(t *testing.T) {
	// buf: root at 0, then a chain of pointers, each to the previous one.
	buf := []byte{0}
	for i := 0; i <= MaxPointerHops; i++ {
		prev := 0
		if i > 0 {
			prev = len(buf) - 2
		}
		buf = append(buf, 0xC0, byte(prev))
	}
	var dst [MaxNamePresentationLen]byte
	okStart := len(buf) - 4 // MaxPointerHops pointers to follow
	if name, next, err := ParseName(&dst, buf, okStart); err != nil || string(name) != "." || next != okStart+2 {
		t.Errorf("%d hops: %q %d %v", MaxPointerHops, name, next, err)
	}
	if _, _, err := ParseName(&dst, buf, len(buf)-2); !errors.Is(err, ErrPointerLoop) {
		t.Errorf("%d hops: %v", MaxPointerHops+1, err)
	}
}

// TestTruncatedEverywhere cuts real messages at every offset: Parse never
// panics and never accepts what miekg/dns rejects.
func TestTruncatedEverywhere(t *testing.T) {
	msgs := [][]byte{queryMsg(t), ecsQueryMsg(t), responseMsg(t)}
	if testing.Short() {
		msgs = msgs[:1]
	} else {
		for i, fm := range fixtureMessagesOrNil(t) {
			if i%50 == 0 {
				msgs = append(msgs, fm.data)
			}
		}
	}
	var m Message
	for _, msg := range msgs {
		for i := range msg {
			cut := msg[:i]
			if Parse(cut, &m) != nil {
				continue
			}
			var mm mdns.Msg
			if err := mm.Unpack(cut); err != nil {
				t.Fatalf("cut at %d/%d: Parse accepted, miekg: %v", i, len(msg), err)
			}
			if d := crossCheck(cut); d != "" {
				t.Fatalf("cut at %d/%d: %s", i, len(msg), d)
			}
		}
	}
}

func fixtureMessagesOrNil(t *testing.T) []fixtureMsg {
	if _, err := findFixtures(); err != nil {
		return nil
	}
	return fixtureMessages(t)
}

// TestRandomQnameFlood feeds many random names (any byte values, random
// label shapes) through one reused Message and checks each against miekg.
func TestRandomQnameFlood(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	var m Message
	for i := 0; i < n; i++ {
		msg := header(1, 0, 0, 0)
		wire := 0
		for labels := rng.IntN(8); labels > 0; labels-- {
			l := 1 + rng.IntN(MaxLabelLen)
			if wire+l+2 > MaxNameWire {
				break
			}
			wire += l + 1
			msg = append(msg, byte(l))
			for range l {
				if rng.IntN(4) == 0 {
					msg = append(msg, byte(rng.IntN(256)))
				} else {
					msg = append(msg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[rng.IntN(64)])
				}
			}
		}
		msg = append(msg, 0, 0, byte(rng.IntN(256)), 0, 1)
		if err := Parse(msg, &m); err != nil {
			t.Fatalf("%x: %v", msg, err)
		}
		if d := crossCheck(msg); d != "" {
			t.Fatalf("%x: %s", msg, d)
		}
		if strings.ContainsAny(m.QNameString(), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("not lower-cased: %q", m.QNameString())
		}
	}
}
