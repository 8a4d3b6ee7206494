package enrich

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func fixtures(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test")
		}
		dir = parent
	}
	f := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(f); err != nil {
		t.Skipf("pktvisor fixtures not found at %s (they live beside the repository, not in it)", f)
	}
	return f
}

func TestMaxMindTestDatabases(t *testing.T) {
	dir := fixtures(t)
	for _, cache := range []int{0, 16} {
		g, err := OpenGeo(filepath.Join(dir, "GeoIP2-City-Test.mmdb"), filepath.Join(dir, "GeoIP2-ISP-Test.mmdb"), cache)
		if err != nil {
			t.Fatal(err)
		}
		// Addresses and answers the MaxMind test databases document (and
		// the compat reference quotes as pktvisor's output).
		cities := map[string]string{
			"89.160.20.112":        "EU/Sweden/E/Linköping",
			"216.160.83.56":        "NA/United States/WA/Milton",
			"::ffff:89.160.20.112": "EU/Sweden/E/Linköping",
			"192.0.2.1":            Unknown,
		}
		for ip, want := range cities {
			for range 2 { // second round hits the cache
				loc, ok := g.City(netip.MustParseAddr(ip))
				if !ok || loc.Name != want {
					t.Errorf("City(%s) = %q, %v; want %q", ip, loc.Name, ok, want)
				}
			}
		}
		if loc, _ := g.City(netip.MustParseAddr("89.160.20.112")); loc.Lat == "" || loc.Lon == "" {
			t.Errorf("no coordinates for a located address: %+v", loc)
		}
		asns := map[string]string{
			"1.128.0.0": "1221/Telstra Pty Ltd",
			"192.0.2.1": Unknown,
		}
		for ip, want := range asns {
			if got, ok := g.ASN(netip.MustParseAddr(ip)); !ok || got != want {
				t.Errorf("ASN(%s) = %q, %v; want %q", ip, got, ok, want)
			}
		}
		if err := g.Reload(); err != nil {
			t.Fatal(err)
		}
		if got, _ := g.ASN(netip.MustParseAddr("1.128.0.0")); got != "1221/Telstra Pty Ltd" {
			t.Errorf("after reload ASN = %q", got)
		}
		g.Close()
	}
}

func TestNoDatabases(t *testing.T) {
	g, err := OpenGeo("", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.City(netip.MustParseAddr("1.2.3.4")); ok {
		t.Error("City answered without a database")
	}
	if _, ok := g.ASN(netip.MustParseAddr("1.2.3.4")); ok {
		t.Error("ASN answered without a database")
	}
}

func TestBadDatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.mmdb")
	os.WriteFile(p, []byte("not a maxmind database"), 0o644)
	if _, err := OpenGeo(p, "", 0); err == nil {
		t.Fatal("garbage database accepted")
	}
	if _, err := OpenGeo("", filepath.Join(t.TempDir(), "missing.mmdb"), 0); err == nil {
		t.Fatal("missing database accepted")
	}
}

func BenchmarkCityCached(b *testing.B) {
	dir := fixtures(b)
	g, err := OpenGeo(filepath.Join(dir, "GeoIP2-City-Test.mmdb"), "", 1024)
	if err != nil {
		b.Fatal(err)
	}
	a := netip.MustParseAddr("89.160.20.112")
	b.ReportAllocs()
	for b.Loop() {
		g.City(a)
	}
}
