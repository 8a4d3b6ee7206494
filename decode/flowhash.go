package decode

import "encoding/binary"

// FlowHash returns a hash of p's 5-tuple (L3, addresses, ports, IPProto)
// that is the same for both directions of a flow and in every process, so it
// can key per-flow sampling decisions and DNS transactions across restarts
// and across agents.
//
// Non-first fragments have no ports and so hash apart from their first
// fragment; key fragments by FragID if they must be grouped.
func (p *Packet) FlowHash() uint64 {
	a, b := p.Src.As16(), p.Dst.As16()
	aHi, aLo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	bHi, bLo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	aPort, bPort := p.SrcPort, p.DstPort
	// Put the endpoints in a canonical order so direction cannot matter.
	if aHi > bHi || aHi == bHi && (aLo > bLo || aLo == bLo && aPort > bPort) {
		aHi, aLo, bHi, bLo = bHi, bLo, aHi, aLo
		aPort, bPort = bPort, aPort
	}
	h := uint64(hashSeed)
	h = absorb(h, aHi)
	h = absorb(h, aLo)
	h = absorb(h, bHi)
	h = absorb(h, bLo)
	h = absorb(h, uint64(p.L3)<<40|uint64(p.IPProto)<<32|uint64(aPort)<<16|uint64(bPort))
	return finalize(h)
}

// Mixing constants: the 64-bit golden ratio and the two odd multipliers of
// the well-studied 64-bit avalanche finaliser (every input bit flips about
// half the output bits).
const (
	hashSeed = 0x9e3779b97f4a7c15
	mulA     = 0xff51afd7ed558ccd
	mulB     = 0xc4ceb9fe1a85ec53
)

// absorb folds one word into the running state. The multiply spreads low
// bits upward and the shift brings high bits back down, so word order
// matters and adjacent words cannot cancel.
func absorb(h, v uint64) uint64 {
	h ^= v
	h *= mulA
	h ^= h >> 32
	return h
}

func finalize(h uint64) uint64 {
	h ^= h >> 33
	h *= mulA
	h ^= h >> 33
	h *= mulB
	h ^= h >> 33
	return h
}
