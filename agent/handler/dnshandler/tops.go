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

// newStringTop's and newAddrTop's sketches use the admission filter: qname
// and client lists are where random-subdomain floods and spoofed sources
// put a one-off key on every packet.
func newStringTop() *sketches.StringTopK {
	t, _ := sketches.NewStringTopK(handler.TopKCapacity)
	return t.WithAdmissionFilter()
}

func newUint16Top() *sketches.TopK[uint16] {
	t, _ := sketches.NewTopK[uint16](handler.TopKCapacity, func(v uint16) uint64 { return sketches.HashUint64(uint64(v)) })
	return t
}

func newAddrTop() *sketches.TopK[netip.Addr] {
	t, _ := sketches.NewTopK[netip.Addr](handler.TopKCapacity, sketches.HashAddr)
	return t.WithAdmissionFilter()
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
	addr *sketches.TopK[netip.Addr]
	geo  handler.GeoTops
}

func newECSTops() ecsTops {
	return ecsTops{addr: newAddrTop(), geo: handler.NewGeoTops()}
}

func (t *ecsTops) add(e handler.Enricher, a netip.Addr) {
	t.addr.Add(a)
	t.geo.Add(e, a)
}

func (t *ecsTops) merge(o *ecsTops) {
	t.addr.Merge(o.addr)
	t.geo.Merge(&o.geo)
}

func (t *ecsTops) reset() {
	t.addr.Reset()
	t.geo.Reset()
}

func (t *ecsTops) write(w metrics.Writer, c handler.Common, addr, geo, asn metrics.Name) {
	t.geo.Write(w, c, geo, asn)
	w.TopN(addr, "ecs", handler.Rows(c, t.addr.Top(c.TopN, nil), addrName))
}
