package input

import (
	"net/netip"
	"testing"

	"github.com/visorng/visor/decode"
)

func TestParseHostSpecErrors(t *testing.T) {
	cases := map[string]string{
		"10.0.0.1":          "invalid CIDR: 10.0.0.1",
		"10.0.0.300/24":     "invalid IPv4 address: 10.0.0.300",
		"fe80::zz/64":       "invalid IPv6 address: fe80::zz",
		"10.0.0.0/33":       "invalid CIDR: 10.0.0.0/33",
		"2001:db8::/129":    "invalid CIDR: 2001:db8::/129",
		"10.0.0.0/8,nope/1": "invalid IPv4 address: nope",
	}
	for in, want := range cases {
		if _, err := ParseHostSpec(in); err == nil || err.Error() != want {
			t.Errorf("ParseHostSpec(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestDirection(t *testing.T) {
	hs, err := ParseHostSpec("192.0.2.10/24, 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		src, dst string
		want     decode.Direction
	}{
		{"198.51.100.1", "192.0.2.99", decode.DirIn}, // host bits in the spec are ignored
		{"192.0.2.1", "198.51.100.1", decode.DirOut},
		{"192.0.2.1", "192.0.2.2", decode.DirIn}, // destination wins
		{"198.51.100.1", "203.0.113.1", decode.DirUnknown},
		{"2001:db8::1", "2001:4860::1", decode.DirOut},
		{"0.0.0.0", "198.51.100.1", decode.DirUnknown},
	}
	for _, c := range cases {
		p := decode.Packet{Src: netip.MustParseAddr(c.src), Dst: netip.MustParseAddr(c.dst)}
		if got := hs.Direction(&p); got != c.want {
			t.Errorf("%s → %s: %v, want %v", c.src, c.dst, got, c.want)
		}
	}
	var empty HostSet
	p := decode.Packet{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2")}
	if empty.Direction(&p) != decode.DirUnknown || !empty.Empty() {
		t.Error("empty host set must leave direction unknown")
	}
	if got := len(hs.Prefixes()); got != 2 {
		t.Errorf("prefixes %d", got)
	}
}

func BenchmarkDirection(b *testing.B) {
	hs, _ := ParseHostSpec("192.0.2.0/24,198.51.100.0/24,2001:db8::/32")
	p := decode.Packet{Src: netip.MustParseAddr("203.0.113.5"), Dst: netip.MustParseAddr("198.51.100.7")}
	b.ReportAllocs()
	for b.Loop() {
		hs.Direction(&p)
	}
}
