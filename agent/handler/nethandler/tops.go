package nethandler

import (
	"net/netip"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

const hllPrecision = 14

// ipTops tracks remote addresses: per-family top-N, optional geo/ASN tops.
type ipTops struct {
	v4, v6 *sketches.TopK[netip.Addr]
	geo    *sketches.StringTopK
	asn    *sketches.StringTopK
	// lat/lon of geo rows, kept beside the sketch (bounded by the geo
	// sketch's capacity through pruning at write time).
	coords map[string][2]string
}

func newIPTops() ipTops {
	v4, _ := sketches.NewTopK[netip.Addr](handler.TopKCapacity, sketches.HashAddr)
	v6, _ := sketches.NewTopK[netip.Addr](handler.TopKCapacity, sketches.HashAddr)
	geo, _ := sketches.NewStringTopK(handler.TopKCapacity)
	asn, _ := sketches.NewStringTopK(handler.TopKCapacity)
	return ipTops{v4: v4, v6: v6, geo: geo, asn: asn, coords: map[string][2]string{}}
}

// addIP counts a; h is sketches.HashAddr(a), which the caller has already
// computed for the cardinality sketch.
func (t *ipTops) addIP(a netip.Addr, h uint64) {
	if a.Is4() {
		t.v4.AddHashed(h, a, 1)
	} else if a.IsValid() {
		t.v6.AddHashed(h, a, 1)
	}
}

func (t *ipTops) addGeo(e handler.Enricher, a netip.Addr) {
	if e == nil || !a.IsValid() {
		return
	}
	if loc, ok := e.City(a); ok {
		t.geo.Add(loc.Name, 1)
		if _, seen := t.coords[loc.Name]; !seen && len(t.coords) < 4*handler.TopKCapacity {
			t.coords[loc.Name] = [2]string{loc.Lat, loc.Lon}
		}
	}
	if asn, ok := e.ASN(a); ok {
		t.asn.Add(asn, 1)
	}
}

func (t *ipTops) merge(o *ipTops) {
	t.v4.Merge(o.v4)
	t.v6.Merge(o.v6)
	t.geo.Merge(o.geo)
	t.asn.Merge(o.asn)
	for k, v := range o.coords {
		if _, ok := t.coords[k]; !ok && len(t.coords) < 4*handler.TopKCapacity {
			t.coords[k] = v
		}
	}
}

func (t *ipTops) reset() {
	t.v4.Reset()
	t.v6.Reset()
	t.geo.Reset()
	t.asn.Reset()
	clear(t.coords)
}

func addrString(a netip.Addr) string { return a.String() }
func ident(s string) string          { return s }

func (t *ipTops) writeIPs(w metrics.Writer, c handler.Common, v4, v6 metrics.Name) {
	w.TopN(v4, "ipv4", handler.Rows(c, t.v4.Top(c.TopN, nil), addrString))
	w.TopN(v6, "ipv6", handler.Rows(c, t.v6.Top(c.TopN, nil), addrString))
}

func (t *ipTops) writeGeo(w metrics.Writer, c handler.Common, geo, asn metrics.Name) {
	rows := handler.Rows(c, t.geo.Top(c.TopN, nil), ident)
	for i := range rows {
		ll := t.coords[rows[i].Name]
		rows[i].Lat, rows[i].Lon = ll[0], ll[1]
	}
	w.TopN(geo, "geo_loc", rows)
	w.TopN(asn, "asn", handler.Rows(c, t.asn.Top(c.TopN, nil), ident))
}
