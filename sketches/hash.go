package sketches

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"
)

// The hash is a small multiply-fold design in the wyhash family: 16 bytes per
// round folded through a 64x64->128 multiply, overlapping reads for the tail so
// every length takes one branch, and a two-multiply finish. It has a fixed
// seed on purpose: sketches built in different processes (or restored from a
// previous run) must agree on every key's hash so that they can be merged.
const (
	hk0   = 0xa3b195354a39b70d
	hk1   = 0x8bb84b93962eacc9
	hk2   = 0x4b33a62ed433d4a3
	hk3   = 0x1d8e4e27c47d124f
	hseed = 0x243f6a8885a308d3 // fractional digits of pi
)

// fold multiplies a and b to 128 bits and xors the halves: every input bit
// reaches the middle of the product, which is where the mixing happens.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func le64(p []byte) uint64 { return binary.LittleEndian.Uint64(p) }
func le32(p []byte) uint64 { return uint64(binary.LittleEndian.Uint32(p)) }

// HashBytes returns a 64-bit hash of b. It is deterministic across processes
// and platforms, does not allocate, and equals HashString(string(b)).
func HashBytes(b []byte) uint64 {
	n := len(b)
	h := hseed ^ fold(uint64(n)^hk0, hk1)
	p := b
	for len(p) > 16 {
		h = fold(le64(p)^hk1, le64(p[8:])^h)
		p = p[16:]
	}
	var x, y uint64
	switch m := len(p); {
	case m >= 8:
		x, y = le64(p), le64(p[m-8:])
	case m >= 4:
		x, y = le32(p), le32(p[m-4:])
	case m > 0:
		// One to three bytes: first, middle and last cover every byte.
		x = uint64(p[0])<<16 | uint64(p[m>>1])<<8 | uint64(p[m-1])
	}
	x ^= hk2
	y ^= h
	x = fold(x, y)
	return fold(x^hk3^uint64(n), y^hk1)
}

// HashString is HashBytes for a string, without copying it.
func HashString(s string) uint64 {
	return HashBytes(unsafeBytes(s))
}

// unsafeBytes views s as a byte slice for read-only use by code that never
// writes to or retains it.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// HashUint64 hashes an integer key (ports, qtypes, counters). It is a
// bijection (an xor-shift-multiply finaliser of x plus a constant), so distinct
// integers never collide, with full avalanche.
func HashUint64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// HashAddr hashes an address by its natural bytes: an IPv4 address (Is4) by
// its 4 bytes, anything else (IPv6, including IPv4-mapped IPv6) by its 16
// bytes, so HashAddr(a) == HashBytes(a.AsSlice()) for unzoned addresses.
// 192.0.2.1 and ::ffff:192.0.2.1 therefore hash differently, matching how the
// handlers count them (the address family is part of the identity). The zone
// is ignored. The zero Addr hashes like an empty byte slice.
func HashAddr(a netip.Addr) uint64 {
	switch {
	case a.Is4():
		b := a.As4()
		return HashBytes(b[:])
	case a.Is6():
		b := a.As16()
		return HashBytes(b[:])
	default:
		return HashBytes(nil)
	}
}
