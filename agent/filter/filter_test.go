package filter

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/visorng/visor/decode"
)

// dnsFrame is an Ethernet/IPv4/UDP DNS query (192.168.0.189 -> 8.8.8.8:53).
var dnsFrame = []byte{
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x39, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	192, 168, 0, 189, 8, 8, 8, 8,
	0xd4, 0x31, 0x00, 0x35, 0x00, 0x25, 0x00, 0x00,
	0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01,
}

func TestMatchBasics(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		{"", true},
		{"udp port 53", true},
		{"tcp port 53", false},
		{"port 53 or 5353", true},
		{"dst host 8.8.8.8 and src net 192.168.0.0/24", true},
		{"src host 8.8.8.8", false},
		{"ip6", false},
		{"vlan", false},
		{"greater 71", true},
		{"greater 72", false},
		{"less 71", true},
		{"less 70", false},
		{"len = 71", true},
		{"udp[10:2] & 0x8000 = 0", true}, // QR bit clear: a query
		{"not udp", false},
		{"portrange 50000-60000", true},
		{"icmp or udp and dst port 53", true},
	}
	for _, tc := range cases {
		p, err := New(tc.expr, decode.LinkEthernet)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		if got := p.Match(dnsFrame, len(dnsFrame)); got != tc.want {
			t.Errorf("%q: Match = %v, want %v\n%v", tc.expr, got, tc.want, p.Instructions())
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		expr string
		link decode.LinkType
		want error
	}{
		{"host example.com", decode.LinkEthernet, ErrUnsupported},
		{"broadcast", decode.LinkEthernet, ErrUnsupported},
		{"port http", decode.LinkEthernet, ErrUnsupported},
		{"vlan", decode.LinkRaw, ErrUnsupported},
		{"ether host 00:00:00:00:00:01", decode.LinkLinuxSLL, ErrUnsupported},
		{"ip[1 << 30] = 1", decode.LinkEthernet, ErrUnsupported},
		{"udp", decode.LinkType(105), ErrUnsupported},
		{"port", decode.LinkEthernet, ErrSyntax},
		{"ip and", decode.LinkEthernet, ErrSyntax},
		{"(udp", decode.LinkEthernet, ErrSyntax},
		{"udp)", decode.LinkEthernet, ErrSyntax},
		{"192.168.0.1", decode.LinkEthernet, ErrSyntax}, // tcpdump: a bare id needs a qualifier
		{"tcp or 53", decode.LinkEthernet, ErrSyntax},
		{"net 10.1.2.3/8", decode.LinkEthernet, ErrSyntax},
		{"net 2001:db8::1/32", decode.LinkEthernet, ErrSyntax},
		{"ip[1] / 0 = 1", decode.LinkEthernet, ErrSyntax},
		{"ip[0] << 32 = 1", decode.LinkEthernet, ErrSyntax},
		{"ip[0:3] = 1", decode.LinkEthernet, ErrSyntax},
		{"tcp[13]", decode.LinkEthernet, ErrSyntax},
		{"vlan 4096", decode.LinkEthernet, ErrSyntax},
		{"port 70000", decode.LinkEthernet, ErrSyntax},
		{"ip port 53", decode.LinkEthernet, ErrSyntax},
		{"ip6 host 1.2.3.4", decode.LinkEthernet, ErrSyntax},
		{"tcp host 1.2.3.4", decode.LinkEthernet, ErrSyntax},
		{"udp $", decode.LinkEthernet, ErrSyntax},
	}
	for _, tc := range cases {
		_, err := Compile(tc.expr, tc.link, DefaultSnaplen)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.expr, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.expr)) {
			t.Errorf("%q: error %q does not name the expression", tc.expr, err)
		}
	}
}

// TestLongJumps forces conditional jumps beyond 255 instructions, which
// need trampolines, and checks the result with x/net's VM.
func TestLongJumps(t *testing.T) {
	var parts []string
	for i := range 120 {
		parts = append(parts, fmt.Sprintf("%d", 1000+i))
	}
	expr := "udp and (port " + strings.Join(parts, " or ") + " or 53) and not tcp"
	p, err := New(expr, decode.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Instructions()) < 600 {
		t.Fatalf("program only %d instructions; not testing long jumps", len(p.Instructions()))
	}
	if !p.Match(dnsFrame, len(dnsFrame)) {
		t.Fatal("long program does not match the DNS frame")
	}
	crossCheck(t, p, dnsFrame)

	var huge []string
	for i := range 800 {
		huge = append(huge, fmt.Sprintf("host 10.0.%d.%d", i/250, i%250))
	}
	if _, err := Compile(strings.Join(huge, " or "), decode.LinkEthernet, DefaultSnaplen); !errors.Is(err, ErrTooLong) {
		t.Fatalf("huge program: got %v, want ErrTooLong", err)
	}
}

// crossCheck compares our interpreter with x/net/bpf's VM (which reads the
// captured length for `len`, so the frame is passed whole).
func crossCheck(t testing.TB, p *Program, frame []byte) {
	t.Helper()
	vm, err := bpf.NewVM(p.Instructions())
	if err != nil {
		t.Fatalf("x/net/bpf rejects the program: %v\n%v", err, p.Instructions())
	}
	for _, ins := range p.Instructions() {
		if _, ok := ins.(bpf.NegateA); ok {
			return // x/net's VM validates but does not run neg
		}
	}
	want, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("x/net/bpf run: %v", err)
	}
	if got := run(p.raw, frame, uint32(len(frame))); got != uint32(want) {
		t.Fatalf("%q: interpreter returned %d, x/net VM %d", p, got, want)
	}
}

func TestInterpreterMatchesXNetVM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	frames := [][]byte{dnsFrame, dnsFrame[:20], dnsFrame[:40], nil}
	for range 200 {
		f := append([]byte(nil), dnsFrame...)
		for range 4 {
			f[rng.IntN(len(f))] = byte(rng.Uint32())
		}
		frames = append(frames, f[:rng.IntN(len(f)+1)])
	}
	for _, expr := range truthExprs {
		for _, lt := range []decode.LinkType{decode.LinkEthernet, decode.LinkRaw, decode.LinkNull} {
			p, err := New(expr, lt)
			if err != nil {
				continue
			}
			for _, f := range frames {
				crossCheck(t, p, f)
			}
		}
	}
}

func TestRaw(t *testing.T) {
	p, err := New("udp port 53", decode.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Raw()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(p.Instructions()) {
		t.Fatalf("raw %d instructions, program %d", len(raw), len(p.Instructions()))
	}
	dis, ok := bpf.Disassemble(raw)
	if !ok || len(dis) != len(raw) {
		t.Fatalf("raw program does not disassemble: %v", dis)
	}
	raw[0].K = 12345 // a copy: the program is unchanged
	if p.raw[0].K == 12345 {
		t.Fatal("Raw returned the program's own slice")
	}
}

func TestMatchAllocs(t *testing.T) {
	p, err := New("udp port 53 and (ip[2:2] + 4 > len - 10) and not tcp[13] & 2 != 0", decode.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(1000, func() { p.Match(dnsFrame, len(dnsFrame)) }); allocs != 0 {
		t.Fatalf("Match allocates %v times", allocs)
	}
}

func FuzzCompile(f *testing.F) {
	for _, e := range truthExprs {
		f.Add(e)
	}
	f.Add("vlan 1 and vlan 2 and udp[tcp[0]:2] = ip6[1]")
	links := []decode.LinkType{decode.LinkEthernet, decode.LinkRaw, decode.LinkLinuxSLL, decode.LinkLinuxSLL2,
		decode.LinkIPv4, decode.LinkIPv6, decode.LinkNull}
	frames := [][]byte{dnsFrame, dnsFrame[:30], nil, make([]byte, 200)}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, lt := range links {
			p, err := New(expr, lt)
			if err != nil {
				if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLong) {
					t.Fatalf("%q: error without a category: %v", expr, err)
				}
				continue
			}
			for _, fr := range frames {
				crossCheck(t, p, fr)
				p.Match(fr, 0)
			}
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	for _, expr := range []string{
		"udp port 53",
		"(udp or tcp) and port 53 and not net 10.0.0.0/8 and greater 60",
		// vlan last: like libpcap, it shifts the offsets of everything after it.
		"host 2001:db8::1 or tcp[tcpflags] & tcp-syn != 0 or udp port 53 or (vlan and port 53)",
	} {
		p, err := New(expr, decode.LinkEthernet)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%q/insns=%d", expr, len(p.Instructions())), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !p.Match(dnsFrame, len(dnsFrame)) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkXNetVM is the baseline our interpreter replaces.
func BenchmarkXNetVM(b *testing.B) {
	p, err := New("udp port 53", decode.LinkEthernet)
	if err != nil {
		b.Fatal(err)
	}
	vm, err := bpf.NewVM(p.Instructions())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		vm.Run(dnsFrame)
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("udp port 53 or (vlan and tcp port 53) or host 2001:db8::1", decode.LinkEthernet, DefaultSnaplen); err != nil {
			b.Fatal(err)
		}
	}
}
