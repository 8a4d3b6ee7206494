package flowhandler

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// maxPending bounds the aggregated records a bucket holds before it replays
// them into its counters and sketches. 4096 entries are about half a MiB
// per bucket.
const maxPending = 4096

// aggKey is everything about a record, after the filters, that a counter,
// top list or cardinality looks at. Records with equal keys differ only in
// their weights, so the handler adds their bytes, packets and record counts
// and replays the sum once as a weighted record. Space-Saving's bounds hold
// for weighted updates, so this changes the cost, not the guarantees: a
// flow exported or sampled n times in a minute costs one pass through some
// thirty sketches instead of n.
type aggKey struct {
	d             *device
	src, dst      netip.Addr
	inIf, outIf   uint32
	sp, dp        uint16
	proto, tos    uint8
	hasIn, hasOut bool
	deep          bool
}

type aggVal struct {
	bytes, packets, records uint64
}

// pending holds a bucket's not yet replayed aggregates in arrival order, so
// that replay admits keys into the sketches in the order they were first
// seen and output does not depend on hash order. The index is our own open
// addressing table: a Go map hashes the 80-byte key field by field and cost
// more than the rest of the per-record path together.
type pending struct {
	table  []int32 // entry index + 1, 0 = empty; linear probing, load <= 1/2
	shift  uint    // 64 - log2(len(table))
	hashes []uint64
	keys   []aggKey
	vals   []aggVal
}

const minPendingTable = 256

// hash mixes every field of k. The device pointer is left out: it is the
// same for every record of a datagram, and equality still checks it.
func (k *aggKey) hash() uint64 {
	s, d := k.src.As16(), k.dst.As16()
	be := binary.BigEndian
	h := mix(be.Uint64(s[:8])^0xa3b195354a39b70d, be.Uint64(s[8:])^0x243f6a8885a308d3)
	h = mix(be.Uint64(d[:8])^h, be.Uint64(d[8:])^0x8bb84b93962eacc9)
	var flags uint64
	if k.hasIn {
		flags |= 1
	}
	if k.hasOut {
		flags |= 2
	}
	if k.deep {
		flags |= 4
	}
	if k.src.Is4() {
		flags |= 8 // an IPv4 and its mapped IPv6 form are different keys
	}
	ports := uint64(k.sp)<<48 | uint64(k.dp)<<32 | uint64(k.proto)<<24 | uint64(k.tos)<<16 | flags
	return mix(h^(uint64(k.inIf)<<32|uint64(k.outIf)), ports^0x4b33a62ed433d4a3)
}

// mix multiplies to 128 bits and folds the halves.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (p *pending) slot(h uint64) int { return int((h * 0x9e3779b97f4a7c15) >> p.shift) }

// add sums the record into its aggregate and reports whether limit
// aggregates are now held.
func (p *pending) add(k *aggKey, bytes, packets uint64, limit int) (full bool) {
	if p.table == nil {
		p.resize(minPendingTable)
	}
	h := k.hash()
	m := len(p.table) - 1
	pos := p.slot(h)
	for {
		e := p.table[pos]
		if e == 0 {
			break
		}
		if p.hashes[e-1] == h && p.keys[e-1] == *k {
			v := &p.vals[e-1]
			v.bytes += bytes
			v.packets += packets
			v.records++
			return false
		}
		pos = (pos + 1) & m
	}
	p.table[pos] = int32(len(p.keys) + 1)
	p.hashes = append(p.hashes, h)
	p.keys = append(p.keys, *k)
	p.vals = append(p.vals, aggVal{bytes: bytes, packets: packets, records: 1})
	if n := len(p.keys); n >= limit {
		return true
	} else if 2*n > len(p.table) {
		p.resize(2 * len(p.table))
	}
	return false
}

func (p *pending) resize(size int) {
	p.table = make([]int32, size)
	p.shift = uint(64 - bits.TrailingZeros(uint(size)))
	m := size - 1
	for i, h := range p.hashes {
		pos := p.slot(h)
		for p.table[pos] != 0 {
			pos = (pos + 1) & m
		}
		p.table[pos] = int32(i + 1)
	}
}

func (p *pending) reset() {
	clear(p.table)
	clear(p.keys) // drop device pointers and address handles
	p.hashes = p.hashes[:0]
	p.keys = p.keys[:0]
	p.vals = p.vals[:0]
}
