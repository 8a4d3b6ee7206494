package handler

import (
	"net/netip"
	"testing"

	"github.com/visorng/visor/agent/metrics"
)

type fakeEnricher map[netip.Addr]Location

func (f fakeEnricher) City(a netip.Addr) (Location, bool) {
	if l, ok := f[a]; ok {
		return l, true
	}
	return Location{Name: "Unknown"}, true
}
func (f fakeEnricher) ASN(a netip.Addr) (string, bool) { return "64500/Example", true }

func TestGeoTops(t *testing.T) {
	e := fakeEnricher{netip.MustParseAddr("192.0.2.1"): {Name: "EU/Sweden", Lat: "60.000000", Lon: "18.000000"}}
	a, b := NewGeoTops(), NewGeoTops()
	a.Add(e, netip.MustParseAddr("192.0.2.1"))
	a.Add(e, netip.MustParseAddr("192.0.2.1"))
	b.Add(e, netip.MustParseAddr("198.51.100.1"))
	b.Add(nil, netip.MustParseAddr("192.0.2.1")) // no databases: nothing counted
	a.Merge(&b)
	j := metrics.NewJSON(nil)
	a.Write(j, Common{TopN: 10}, metrics.N("x", "", "geo"), metrics.N("x", "", "asn"))
	geo := j.Object()["geo"].([]any)
	first := geo[0].(map[string]any)
	if first["name"] != "EU/Sweden" || first["estimate"] != uint64(2) || first["lat"] != "60.000000" {
		t.Fatalf("geo rows %v", geo)
	}
	if asn := j.Object()["asn"].([]any); asn[0].(map[string]any)["estimate"] != uint64(3) {
		t.Fatalf("asn rows %v", asn)
	}
	a.Reset()
	j = metrics.NewJSON(nil)
	a.Write(j, Common{TopN: 10}, metrics.N("x", "", "geo"), metrics.N("x", "", "asn"))
	if len(j.Object()["geo"].([]any)) != 0 {
		t.Fatal("reset left rows")
	}
}
