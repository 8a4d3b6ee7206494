package flowhandler

import (
	"net/netip"

	"github.com/visorng/visor/sketches"
)

// ifRefs are an aggregate's interface metrics by direction, nil where the
// record has no such interface or it was not tracked.
type ifRefs [2]*ifMetrics

// replayBatch accounts a bucket's pending aggregates one list at a time
// rather than one record at a time. A record touches some thirty sketches
// spread over its two interfaces; in record order they do not stay in cache
// once a router has more than a few interfaces (measured: 1.4 µs per
// record with one interface, 3-4 µs with sixteen). In list order each pass
// works on one kind of sketch while the batch streams by. Every sketch still
// sees its own updates in arrival order, so the result is exactly that of
// record order.
func (h *Handler) replayBatch(p *pending) {
	refs := h.refs[:0]
	for i := range p.keys {
		a, v := &p.keys[i], &p.vals[i]
		var r ifRefs
		if a.hasIn {
			if m := h.iface(a.d, a.inIf, v.records); m != nil {
				a.d.inIfaces.add(a.inIf, v.bytes, v.packets)
				m.cnt[dirIn].add(a, v.bytes, v.packets)
				r[dirIn] = m
			}
		}
		if a.hasOut {
			if m := h.iface(a.d, a.outIf, v.records); m != nil {
				a.d.outIfs.add(a.outIf, v.bytes, v.packets)
				m.cnt[dirOut].add(a, v.bytes, v.packets)
				r[dirOut] = m
			}
		}
		if !a.deep {
			r = ifRefs{} // counted; the lists take sampled records only
		}
		refs = append(refs, r)
	}
	h.refs = refs
	g := &h.on
	if g.cardinality {
		h.replayCardinality(p, refs)
	}
	if g.topIPs {
		h.replayIPs(p, refs)
	}
	if g.topPorts {
		replayPorts(p, refs)
	}
	if g.topIPsPorts {
		h.replayIPPorts(p, refs)
	}
	if g.topTOS {
		replayTOS(p, refs)
	}
	if g.conversations {
		h.replayConversations(p, refs)
	}
	if g.topGeo && h.enrich != nil {
		h.replayGeo(p, refs)
	}
	clear(refs) // the scratch must not keep a reset bucket's metrics alive
}

func (h *Handler) replayCardinality(p *pending, refs []ifRefs) {
	for i, r := range refs {
		a := &p.keys[i]
		if m := r[dirIn]; m != nil {
			m.srcIPsIn.AddHash(sketches.HashAddr(a.src))
			if a.sp > 0 {
				m.srcPortsIn.AddHash(hashPortKey(portKey{a.proto, a.sp}))
			}
		}
		if m := r[dirOut]; m != nil {
			m.dstIPsOut.AddHash(sketches.HashAddr(a.dst))
			if a.dp > 0 {
				m.dstPortsOut.AddHash(hashPortKey(portKey{a.proto, a.dp}))
			}
		}
	}
}

// The passes below are spelled out rather than one generic pass taking key
// and list functions: that version read better but cost 10% per distinct
// record in the indirect calls it could not inline.

func (h *Handler) replayIPs(p *pending, refs []ifRefs) {
	for i, r := range refs {
		if r == (ifRefs{}) {
			continue
		}
		a, v := &p.keys[i], &p.vals[i]
		k := h.summarize(a.src)
		hk := hashIPKey(k)
		for d, m := range r {
			if m != nil {
				m.srcIPs[d].addHashed(hk, k, v.bytes, v.packets)
			}
		}
	}
	for i, r := range refs {
		if r == (ifRefs{}) {
			continue
		}
		a, v := &p.keys[i], &p.vals[i]
		k := h.summarize(a.dst)
		hk := hashIPKey(k)
		for d, m := range r {
			if m != nil {
				m.dstIPs[d].addHashed(hk, k, v.bytes, v.packets)
			}
		}
	}
}

func replayPorts(p *pending, refs []ifRefs) {
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		if r == (ifRefs{}) || a.sp == 0 {
			continue
		}
		k := portKey{a.proto, a.sp}
		hk := hashPortKey(k)
		for d, m := range r {
			if m != nil {
				m.srcPorts[d].addHashed(hk, k, v.bytes, v.packets)
			}
		}
	}
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		if r == (ifRefs{}) || a.dp == 0 {
			continue
		}
		k := portKey{a.proto, a.dp}
		hk := hashPortKey(k)
		for d, m := range r {
			if m != nil {
				m.dstPorts[d].addHashed(hk, k, v.bytes, v.packets)
			}
		}
	}
}

func (h *Handler) replayIPPorts(p *pending, refs []ifRefs) {
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		if r == (ifRefs{}) || a.sp == 0 {
			continue
		}
		k := ipPortKey{h.summarize(a.src), portKey{a.proto, a.sp}}
		hk := hashIPPortKey(k)
		for d, m := range r {
			if m != nil {
				m.srcIPPorts[d].addHashed(hk, k, v.bytes, v.packets)
			}
		}
	}
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		if r == (ifRefs{}) || a.dp == 0 {
			continue
		}
		k := ipPortKey{h.summarize(a.dst), portKey{a.proto, a.dp}}
		hk := hashIPPortKey(k)
		for d, m := range r {
			if m != nil {
				m.dstIPPorts[d].addHashed(hk, k, v.bytes, v.packets)
			}
		}
	}
}

func replayTOS(p *pending, refs []ifRefs) {
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		for d, m := range r {
			if m != nil {
				m.dscp[d].add(a.tos>>2, v.bytes, v.packets)
				m.ecn[d].add(a.tos&3, v.bytes, v.packets)
			}
		}
	}
}

// replayConversations keys a conversation by its two endpoints in hash
// order, so both directions of a flow are one conversation.
func (h *Handler) replayConversations(p *pending, refs []ifRefs) {
	card := h.on.cardinality
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		if r == (ifRefs{}) || a.sp == 0 || a.dp == 0 {
			continue
		}
		x := ipPortKey{h.summarize(a.src), portKey{a.proto, a.sp}}
		y := ipPortKey{h.summarize(a.dst), portKey{a.proto, a.dp}}
		hx, hy := hashIPPortKey(x), hashIPPortKey(y)
		if hy < hx {
			x, y, hx, hy = y, x, hy, hx
		}
		k, hk := convKey{x, y}, hx*0x100000001b3^hy
		for _, m := range r {
			if m != nil {
				m.conv.addHashed(hk, k, v.bytes, v.packets)
				if card {
					m.conversations.AddHash(hk)
				}
			}
		}
	}
}

func (h *Handler) replayGeo(p *pending, refs []ifRefs) {
	type lookup struct {
		loc, asn     string
		okLoc, okASN bool
	}
	for i, r := range refs {
		a, v := &p.keys[i], &p.vals[i]
		if r == (ifRefs{}) {
			continue
		}
		var l [2]lookup
		for j, addr := range [2]netip.Addr{a.src, a.dst} {
			loc, okLoc := h.enrich.City(addr)
			asn, okASN := h.enrich.ASN(addr)
			l[j] = lookup{loc.Name, asn, okLoc, okASN}
		}
		for _, m := range r {
			if m == nil {
				continue
			}
			for _, x := range l {
				if x.okLoc {
					m.geo.add(x.loc, v.bytes, v.packets)
				}
				if x.okASN {
					m.asn.add(x.asn, v.bytes, v.packets)
				}
			}
		}
	}
}
