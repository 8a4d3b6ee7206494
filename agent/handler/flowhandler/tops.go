package flowhandler

import (
	"net/netip"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

// flowTopCapacity is smaller than the packet handlers' because a flow
// handler keeps dozens of top lists per interface; Space-Saving's per-row
// error stays at most total/256.
const flowTopCapacity = 256

// wtop is a pair of top-K sketches weighted by bytes and by packets.
type wtop[K comparable] struct {
	b, p *sketches.TopK[K]
	hash func(K) uint64
}

// newWtop's sketches use the admission filter: flow sources and ports churn
// (many clients, random ports, spoofed floods), and without it nearly every
// record evicts a counter in a dozen lists.
func newWtop[K comparable](hash func(K) uint64) *wtop[K] {
	b, _ := sketches.NewTopK[K](flowTopCapacity, hash)
	p, _ := sketches.NewTopK[K](flowTopCapacity, hash)
	return &wtop[K]{b: b.WithAdmissionFilter(), p: p.WithAdmissionFilter(), hash: hash}
}

func (t *wtop[K]) add(k K, bytes, packets uint64) { t.addHashed(t.hash(k), k, bytes, packets) }

// addHashed takes the key's hash from the caller, who computed it once for
// every list the key goes into.
func (t *wtop[K]) addHashed(h uint64, k K, bytes, packets uint64) {
	t.b.AddHashed(h, k, bytes)
	t.p.AddHashed(h, k, packets)
}

func (t *wtop[K]) merge(o *wtop[K]) {
	t.b.Merge(o.b)
	t.p.Merge(o.p)
}

// write emits <name>_bytes and <name>_packets; groups decide which.
func (t *wtop[K]) write(w metrics.Writer, c handler.Common, g handler.Groups, name, help, label string, format func(K) string) {
	if g.On("by_bytes") {
		w.TopN(metrics.N(schema, help+" by bytes", name+"_bytes"), label, handler.Rows(c, t.b.Top(0, nil), format))
	}
	if g.On("by_packets") {
		w.TopN(metrics.N(schema, help+" by packets", name+"_packets"), label, handler.Rows(c, t.p.Top(0, nil), format))
	}
}

// ipKey is a top-list key after summarisation: an address (a full-length
// prefix), a configured or wildcard subnet, or an ASN string.
type ipKey struct {
	p   netip.Prefix
	asn string
}

func hashIPKey(k ipKey) uint64 {
	h := sketches.HashAddr(k.p.Addr()) ^ uint64(k.p.Bits())*0x9e3779b97f4a7c15
	if k.asn != "" {
		h ^= sketches.HashString(k.asn)
	}
	return h
}

func (k ipKey) String() string {
	switch {
	case k.asn != "":
		return k.asn
	case k.p.IsSingleIP():
		return k.p.Addr().String()
	}
	return k.p.String()
}

// portKey carries the protocol so the service name lookup can pick tcp/udp.
type portKey struct {
	proto uint8
	port  uint16
}

func hashPortKey(k portKey) uint64 { return sketches.HashUint64(uint64(k.proto)<<16 | uint64(k.port)) }

type ipPortKey struct {
	ip   ipKey
	port portKey
}

func hashIPPortKey(k ipPortKey) uint64 { return hashIPKey(k.ip)*31 ^ hashPortKey(k.port) }

// convKey orders the two endpoints so both directions are one conversation.
type convKey struct {
	a, b ipPortKey
}

func hashConvKey(k convKey) uint64 { return hashIPPortKey(k.a)*0x100000001b3 ^ hashIPPortKey(k.b) }

func hashU8(v uint8) uint64 { return sketches.HashUint64(uint64(v)) }
