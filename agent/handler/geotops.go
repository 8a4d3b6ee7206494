package handler

import (
	"net/netip"

	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

// GeoTops counts the geo locations and ASNs of addresses (net's remote IPs,
// dns's ECS subnets), keeping each location's coordinates for its row.
type GeoTops struct {
	geo, asn *sketches.StringTopK
	// coords of locations seen, bounded so a hostile stream of locations
	// cannot grow it past a few times the sketch capacity.
	coords map[string][2]string
}

const maxCoords = 4 * TopKCapacity

// NewGeoTops returns empty lists.
func NewGeoTops() GeoTops {
	geo, _ := sketches.NewStringTopK(TopKCapacity)
	asn, _ := sketches.NewStringTopK(TopKCapacity)
	return GeoTops{geo: geo, asn: asn, coords: map[string][2]string{}}
}

// Add looks a up; e == nil (no databases) counts nothing.
func (t *GeoTops) Add(e Enricher, a netip.Addr) {
	if e == nil || !a.IsValid() {
		return
	}
	if loc, ok := e.City(a); ok {
		t.geo.Add(loc.Name, 1)
		if _, seen := t.coords[loc.Name]; !seen && len(t.coords) < maxCoords {
			t.coords[loc.Name] = [2]string{loc.Lat, loc.Lon}
		}
	}
	if asn, ok := e.ASN(a); ok {
		t.asn.Add(asn, 1)
	}
}

// Merge adds o into t.
func (t *GeoTops) Merge(o *GeoTops) {
	t.geo.Merge(o.geo)
	t.asn.Merge(o.asn)
	for k, v := range o.coords {
		if _, ok := t.coords[k]; !ok && len(t.coords) < maxCoords {
			t.coords[k] = v
		}
	}
}

// Reset empties t, keeping its memory.
func (t *GeoTops) Reset() {
	t.geo.Reset()
	t.asn.Reset()
	clear(t.coords)
}

// Write emits the location list (rows carry lat/lon) and the ASN list.
func (t *GeoTops) Write(w metrics.Writer, c Common, geo, asn metrics.Name) {
	ident := func(s string) string { return s }
	rows := Rows(c, t.geo.Top(c.TopN, nil), ident)
	for i := range rows {
		ll := t.coords[rows[i].Name]
		rows[i].Lat, rows[i].Lon = ll[0], ll[1]
	}
	w.TopN(geo, "geo_loc", rows)
	w.TopN(asn, "asn", Rows(c, t.asn.Top(c.TopN, nil), ident))
}
