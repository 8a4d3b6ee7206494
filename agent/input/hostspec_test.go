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

// Contains must agree with netip.Prefix.Contains over the configured
// prefixes (plus the unspecified-address rule) for every family and
// prefix length, including /0, /32 and IPv4-mapped IPv6.
func TestContainsMatchesPrefixContains(t *testing.T) {
	specs := []string{
		"0.0.0.0/0", "192.0.2.10/32", "192.0.2.10/24,10.0.0.0/8", "128.0.0.0/1,1.2.3.4/31",
		"::/0", "2001:db8::/32,192.0.2.0/25", "::ffff:192.0.2.0/120",
	}
	addrs := []string{
		"0.0.0.0", "192.0.2.10", "192.0.2.11", "192.0.3.1", "10.255.255.255", "11.0.0.0",
		"127.255.255.255", "128.0.0.0", "1.2.3.4", "1.2.3.5", "1.2.3.6", "255.255.255.255",
		"::", "2001:db8::1", "2001:db9::1", "::ffff:192.0.2.7", "fe80::1%eth0",
	}
	for _, spec := range specs {
		hs, err := ParseHostSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range addrs {
			a := netip.MustParseAddr(s)
			want := false
			if a.IsValid() && !a.IsUnspecified() {
				for _, p := range hs.Prefixes() {
					if p.Addr().Is4() == a.Is4() && p.Contains(a) {
						want = true
					}
				}
			}
			if got := hs.Contains(a); got != want {
				t.Errorf("%s contains %s = %v, want %v", spec, s, got, want)
			}
			if got := HostSetOf(hs.Prefixes()).Contains(a); got != want {
				t.Errorf("HostSetOf(%s) contains %s = %v, want %v", spec, s, got, want)
			}
		}
		if (HostSet{}).Contains(netip.MustParseAddr("192.0.2.10")) {
			t.Error("the empty set contains an address")
		}
	}
}
