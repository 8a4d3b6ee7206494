// Package decode turns raw captured frames (Ethernet with VLAN/QinQ tags,
// Linux cooked v1/v2, raw IP, BSD loopback) into a flat Packet of L2–L4
// facts without allocating, even for frames it rejects.
//
// # Ownership
//
// Decode copies no bytes. Packet.Payload, Packet.L3Data and Packet.L4Data
// are subslices of the buffer passed to Decode: they are valid only while
// that buffer is, and they change if the buffer is reused. A capture source
// that recycles its buffer (a ring slot, a zero-copy read) therefore ends the
// life of every Packet decoded from it. Code that keeps payload bytes beyond
// the handling of one packet — a DNS transaction table, a TCP reassembler —
// must copy them first. Conversely nothing in Packet points into memory
// Decode owns, so a Packet may be reused for the next frame with no cleanup.
//
// # Errors
//
// Every error Decode returns is a LayerError naming the header at fault and
// wrapping ErrTruncated, ErrMalformed or ErrUnsupportedLink. The Packet keeps
// every field decoded before the fault, so a caller may still count a
// truncated frame by address or protocol.
package decode
