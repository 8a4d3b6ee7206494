package dns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAggregateDomain(t *testing.T) {
	tests := []struct {
		name      string
		suffixLen int
		q2, q3    string
	}{
		// pktvisor's own test cases.
		{"biz.foo.bar.com", 0, ".bar.com", ".foo.bar.com"},
		{"foo.bar.com", 0, ".bar.com", "foo.bar.com"},
		{"a.com", 0, "a.com", ""},
		{"abcdefg.com.", 0, "abcdefg.com.", ""},
		{"www.google.co.uk", len(".co.uk"), ".google.co.uk", "www.google.co.uk"},
		// Edge cases, following pktvisor's code path by path.
		{"", 0, "", ""},
		{".", 0, ".", ""},
		{"a.b", 0, "a.b", ""},
		{"localhost", 0, "localhost", "localhost"},
		{".localhost", 0, ".localhost", ".localhost"},
		{"a.b.c.d.e.f", 0, ".e.f", ".d.e.f"},
		{"biz.foo.bar.com.", 0, ".bar.com.", ".foo.bar.com."},
		{"x.www.google.co.uk", len(".co.uk"), ".google.co.uk", ".www.google.co.uk"},
		{"google.co.uk", len(".co.uk"), "google.co.uk", ""},
		{"www.example.com", len("example.com"), "www.example.com", ""},
		{"co.uk", len(".co.uk"), "co.uk", ""},
	}
	for _, tc := range tests {
		q2, q3 := AggregateDomain([]byte(tc.name), tc.suffixLen)
		if string(q2) != tc.q2 || string(q3) != tc.q3 {
			t.Errorf("AggregateDomain(%q, %d) = %q, %q; want %q, %q", tc.name, tc.suffixLen, q2, q3, tc.q2, tc.q3)
		}
	}
}

func TestAggregateDomainAllocs(t *testing.T) {
	name := []byte("biz.foo.bar.com")
	if n := testing.AllocsPerRun(100, func() { AggregateDomain(name, 0) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

func loadSnippet(t testing.TB) *SuffixList {
	f, err := os.Open(filepath.Join("testdata", "psl_snippet.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := LoadSuffixList(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSuffixListSnippet(t *testing.T) {
	s := loadSnippet(t)
	tests := []struct {
		name string
		want string // the public suffix with its dot, or "" for 0
	}{
		{"www.google.co.uk", ".co.uk"},
		{"google.co.uk", ".co.uk"},
		{"co.uk", ""}, // is a suffix itself
		{"uk", ""},    // likewise
		{"example.com", ".com"},
		{"foo.blogspot.com", ".com"}, // private section ignored
		{"a.b.c.kobe.jp", ".c.kobe.jp"},
		{"b.city.kobe.jp", ".kobe.jp"}, // exception
		{"city.kobe.jp", ".kobe.jp"},
		{"www.ck", ".ck"},
		{"foo.bar.ck", ".bar.ck"},
		{"bar.ck", ""},
		{"shop.xn--55qx5d.cn", ".xn--55qx5d.cn"},
		{"example.org", ""}, // no rule
		{"www.google.co.uk.", ".co.uk."},
	}
	for _, tc := range tests {
		got := s.SuffixLen([]byte(tc.name))
		if got != len(tc.want) {
			t.Errorf("SuffixLen(%q) = %d, want %d (%q)", tc.name, got, len(tc.want), tc.want)
		}
		if got > 0 && !strings.HasSuffix(tc.name, tc.want) {
			t.Errorf("bad test case %q", tc.name)
		}
	}
	name := []byte("www.google.co.uk")
	if n := testing.AllocsPerRun(100, func() { s.SuffixLen(name) }); n != 0 {
		t.Errorf("SuffixLen: %v allocs", n)
	}
}

func TestSuffixListFixture(t *testing.T) {
	f, err := os.Open(filepath.Join(fixturesDir(t), "public_suffix_list.dat"))
	if err != nil {
		t.Skipf("no public_suffix_list.dat: %v", err)
	}
	defer f.Close()
	s, err := LoadSuffixList(f)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() < 6000 {
		t.Errorf("only %d ICANN rules", s.Len())
	}
	tests := map[string]string{
		"www.google.co.uk":     ".co.uk",
		"www.example.com":      ".com",
		"foo.github.io":        ".io", // github.io is a private-section rule
		"a.b.city.kobe.jp":     ".kobe.jp",
		"x.y.kawasaki.jp":      ".y.kawasaki.jp",
		"www.example.com.br":   ".com.br",
		"test.com":             ".com",
		"nic.xn--55qx5d.cn":    ".xn--55qx5d.cn",
		"www.example.notatld9": "",
	}
	for name, want := range tests {
		if got := s.SuffixLen([]byte(name)); got != len(want) {
			t.Errorf("SuffixLen(%q) = %d, want %d (%q)", name, got, len(want), want)
		}
	}
	// The aggregation the dns handler performs with the list.
	name := []byte("www.google.co.uk")
	q2, q3 := AggregateDomain(name, s.SuffixLen(name))
	if string(q2) != ".google.co.uk" || string(q3) != "www.google.co.uk" {
		t.Errorf("aggregate with PSL: %q %q", q2, q3)
	}
}

func TestLoadSuffixListErrors(t *testing.T) {
	for _, in := range []string{"", "// only comments\n", "*.*.bad\n"} {
		if _, err := LoadSuffixList(strings.NewReader(in)); err == nil {
			t.Errorf("%q: want error", in)
		}
	}
}

func TestPunycode(t *testing.T) {
	for in, want := range map[string]string{
		"公司.cn":     "xn--55qx5d.cn",
		"bücher.de": "xn--bcher-kva.de",
		"例え.テスト":    "xn--r8jz45g.xn--zckzah",
		"plain.com": "plain.com",
		"ñandú.com": "xn--and-6ma2c.com",
	} {
		got, err := toASCII(in)
		if err != nil || got != want {
			t.Errorf("toASCII(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNames(t *testing.T) {
	for r, want := range map[uint16]string{0: "NOERROR", 1: "FORMERR", 2: "SRVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS", 12: "12", 4095: "4095"} {
		if got := RcodeName(r); got != want {
			t.Errorf("RcodeName(%d) = %q want %q", r, got, want)
		}
		if got := string(AppendRcodeName(nil, r)); got != want {
			t.Errorf("AppendRcodeName(%d) = %q want %q", r, got, want)
		}
	}
	for ty, want := range map[uint16]string{1: "A", 28: "AAAA", 12: "PTR", 15: "MX", 16: "TXT", 46: "RRSIG", 65: "HTTPS", 255: "ANY", 32769: "DLV", 54: "54", 65280: "65280"} {
		if got := TypeName(ty); got != want {
			t.Errorf("TypeName(%d) = %q want %q", ty, got, want)
		}
		if got := string(AppendTypeName(nil, ty)); got != want {
			t.Errorf("AppendTypeName(%d) = %q want %q", ty, got, want)
		}
	}
	if v, ok := RcodeByName("SERVFAIL"); !ok || v != 2 {
		t.Error("SERVFAIL")
	}
	if v, ok := RcodeByName("NXDOMAIN"); !ok || v != 3 {
		t.Error("NXDOMAIN")
	}
	if v, ok := TypeByName("AAAA"); !ok || v != 28 {
		t.Error("AAAA")
	}
	if v, ok := TypeByName("DLV"); !ok || v != 32769 {
		t.Error("DLV")
	}
	if _, ok := TypeByName("NOPE"); ok {
		t.Error("NOPE")
	}
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		_ = TypeName(28)
		_ = RcodeName(3)
		buf = AppendTypeName(buf[:0], 65280)
	}); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
