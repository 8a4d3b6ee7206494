package dnshandler

import (
	"net/netip"
	"strconv"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/decode/dns"
	"github.com/visorng/visor/sketches"
)

const hllPrecision = 14

func newStringTop() *sketches.StringTopK {
	t, _ := sketches.NewStringTopK(handler.TopKCapacity)
	return t
}

func newUint16Top() *sketches.TopK[uint16] {
	t, _ := sketches.NewTopK[uint16](handler.TopKCapacity, func(v uint16) uint64 { return sketches.HashUint64(uint64(v)) })
	return t
}

func newAddrTop() *sketches.TopK[netip.Addr] {
	t, _ := sketches.NewTopK[netip.Addr](handler.TopKCapacity, sketches.HashAddr)
	return t
}

func newHLL() *sketches.HLL {
	h, _ := sketches.NewHLL(hllPrecision)
	return h
}

func newQuantile() *sketches.Quantile {
	q, _ := sketches.NewQuantile(0.01)
	return q
}

func newLatencyHistogram() *sketches.Histogram {
	h, _ := sketches.NewHistogram(sketches.LatencyBoundsUS())
	return h
}

func ident(s string) string        { return s }
func portName(p uint16) string     { return strconv.Itoa(int(p)) }
func addrName(a netip.Addr) string { return a.String() }
func qtypeName(t uint16) string    { return dns.TypeName(t) }
func rcodeLabel(r uint16) string   { return dns.RcodeName(r) }
func writeStrings(w metrics.Writer, c handler.Common, n metrics.Name, label string, t *sketches.StringTopK) {
	w.TopN(n, label, handler.Rows(c, t.Top(c.TopN, nil), ident))
}

// ecsTops are the ECS heavy hitters: the subnet address and, with an
// enricher, its location and ASN.
type ecsTops struct {
	addr   *sketches.TopK[netip.Addr]
	geo    *sketches.StringTopK
	asn    *sketches.StringTopK
	coords map[string][2]string
}

func newECSTops() ecsTops {
	return ecsTops{addr: newAddrTop(), geo: newStringTop(), asn: newStringTop(), coords: map[string][2]string{}}
}

func (t *ecsTops) add(e handler.Enricher, a netip.Addr) {
	t.addr.Add(a)
	if e == nil {
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

func (t *ecsTops) merge(o *ecsTops) {
	t.addr.Merge(o.addr)
	t.geo.Merge(o.geo)
	t.asn.Merge(o.asn)
	for k, v := range o.coords {
		if _, ok := t.coords[k]; !ok && len(t.coords) < 4*handler.TopKCapacity {
			t.coords[k] = v
		}
	}
}

func (t *ecsTops) reset() {
	t.addr.Reset()
	t.geo.Reset()
	t.asn.Reset()
	clear(t.coords)
}

func (t *ecsTops) write(w metrics.Writer, c handler.Common, addr, geo, asn metrics.Name) {
	rows := handler.Rows(c, t.geo.Top(c.TopN, nil), ident)
	for i := range rows {
		ll := t.coords[rows[i].Name]
		rows[i].Lat, rows[i].Lon = ll[0], ll[1]
	}
	w.TopN(geo, "geo_loc", rows)
	w.TopN(asn, "asn", handler.Rows(c, t.asn.Top(c.TopN, nil), ident))
	w.TopN(addr, "ecs", handler.Rows(c, t.addr.Top(c.TopN, nil), addrName))
}
