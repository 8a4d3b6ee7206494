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
	geo    handler.GeoTops
}

func newIPTops() ipTops {
	// The admission filter: spoofed-source floods give a new address per
	// packet.
	v4, _ := sketches.NewTopK[netip.Addr](handler.TopKCapacity, sketches.HashAddr)
	v6, _ := sketches.NewTopK[netip.Addr](handler.TopKCapacity, sketches.HashAddr)
	return ipTops{v4: v4.WithAdmissionFilter(), v6: v6.WithAdmissionFilter(), geo: handler.NewGeoTops()}
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

func (t *ipTops) addGeo(e handler.Enricher, a netip.Addr) { t.geo.Add(e, a) }

func (t *ipTops) merge(o *ipTops) {
	t.v4.Merge(o.v4)
	t.v6.Merge(o.v6)
	t.geo.Merge(&o.geo)
}

func (t *ipTops) reset() {
	t.v4.Reset()
	t.v6.Reset()
	t.geo.Reset()
}

func addrString(a netip.Addr) string { return a.String() }

func (t *ipTops) writeIPs(w metrics.Writer, c handler.Common, v4, v6 metrics.Name) {
	w.TopN(v4, "ipv4", handler.Rows(c, t.v4.Top(c.TopN, nil), addrString))
	w.TopN(v6, "ipv6", handler.Rows(c, t.v6.Top(c.TopN, nil), addrString))
}

func (t *ipTops) writeGeo(w metrics.Writer, c handler.Common, geo, asn metrics.Name) {
	t.geo.Write(w, c, geo, asn)
}
