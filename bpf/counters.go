package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Counters is one slot of the kernel's exact per-CPU counters, laid out
// exactly as struct counters in headers/counters.h (bpf2go generates the
// underlying type from the C struct, so the two cannot drift).
type Counters xdpCounters

// The TC object file carries its own copy of the C types; these conversions
// compile only while both generated types are identical.
var (
	_ = Counters(tcCounters{})
	_ = xdpConfig(tcConfig{})
	_ = xdpMeta(tcMeta{})
)

// counterFields is the number of uint64 counters in Counters; a test checks
// that every field is a uint64 so Add can treat the struct as an array.
const counterFields = unsafe.Sizeof(Counters{}) / 8

func (c *Counters) words() *[counterFields]uint64 {
	return (*[counterFields]uint64)(unsafe.Pointer(c))
}

// Add adds every counter of o to c.
func (c *Counters) Add(o Counters) {
	a, b := c.words(), o.words()
	for i := range a {
		a[i] += b[i]
	}
}

// ParseCounters sums the per-CPU copies of one counter slot.
func ParseCounters(perCPU []Counters) Counters {
	var sum Counters
	for _, c := range perCPU {
		sum.Add(c)
	}
	return sum
}

// Direction of a packet relative to the host set.
type Direction uint8

const (
	DirUnknown Direction = iota // neither address in the host set
	DirIn                       // destination in the host set
	DirOut                      // source in the host set
	dirCount
)

func (d Direction) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	case DirUnknown:
		return "unknown"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Totals are the kernel's counters summed over CPUs. Seen counts every packet
// before the filter; Matched counts the packets the filter accepted (it
// equals Seen when no filter is loaded). Fate counters (Filtered, Sampled,
// NotSampled, DeliverFailed, InternalError) sum to Packets in Seen.
type Totals struct {
	Seen    [dirCount]Counters
	Matched [dirCount]Counters
}

// AllSeen sums Seen over directions.
func (t Totals) AllSeen() Counters { return sumDirs(t.Seen) }

// AllMatched sums Matched over directions.
func (t Totals) AllMatched() Counters { return sumDirs(t.Matched) }

func sumDirs(d [dirCount]Counters) Counters {
	var s Counters
	for _, c := range d {
		s.Add(c)
	}
	return s
}

// parseTotals assembles Totals from the per-CPU contents of every slot of the
// counters map, in map order (seen slots, then matched slots).
func parseTotals(slots [][]Counters, filtered bool) (Totals, error) {
	var t Totals
	if len(slots) != 2*int(dirCount) {
		return t, fmt.Errorf("%d counter slots, want %d", len(slots), 2*dirCount)
	}
	for i, per := range slots {
		if i < int(dirCount) {
			t.Seen[i] = ParseCounters(per)
		} else {
			t.Matched[i-int(dirCount)] = ParseCounters(per)
		}
	}
	if !filtered {
		t.Matched = t.Seen
	}
	return t, nil
}

// RecordHeader precedes every frame in the TC ring buffer (struct pkt_hdr).
// TimestampNs is CLOCK_MONOTONIC (bpf_ktime_get_ns); CapLen bytes of the
// frame follow the header.
type RecordHeader tcPktHdr

// RecordHeaderLen is the encoded size of RecordHeader.
const RecordHeaderLen = int(unsafe.Sizeof(RecordHeader{}))

// Record header flags.
const (
	RecordEgress = 0x1 // seen on the egress hook
	RecordVLAN   = 0x2 // VlanTci holds an offloaded VLAN tag
)

// ErrShortRecord reports a ring buffer record shorter than its header says.
var ErrShortRecord = errors.New("short ring buffer record")

// ParseRecord splits one ring buffer record into its header and the captured
// frame. The frame aliases rec.
func ParseRecord(rec []byte) (RecordHeader, []byte, error) {
	var h RecordHeader
	if len(rec) < RecordHeaderLen {
		return h, nil, fmt.Errorf("%d bytes: %w", len(rec), ErrShortRecord)
	}
	le := binary.LittleEndian // bpfel targets only
	h.TsNs = le.Uint64(rec[0:])
	h.Ifindex = le.Uint32(rec[8:])
	h.WireLen = le.Uint32(rec[12:])
	h.CapLen = le.Uint32(rec[16:])
	h.VlanTci = le.Uint16(rec[20:])
	h.Direction = rec[22]
	h.Flags = rec[23]
	// Compared in 64 bits so a huge cap_len cannot wrap int on 32-bit targets.
	if uint64(h.CapLen) > uint64(len(rec)-RecordHeaderLen) {
		return h, nil, fmt.Errorf("cap_len %d in %d bytes: %w", h.CapLen, len(rec), ErrShortRecord)
	}
	return h, rec[RecordHeaderLen : RecordHeaderLen+int(h.CapLen)], nil
}
