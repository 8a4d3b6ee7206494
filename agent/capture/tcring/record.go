// Package tcring captures a live host's own traffic with the TC programs of
// package bpf — attached to ingress and egress, never dropping or delaying a
// packet — and reads the frames they copy into a BPF ring buffer, as a
// capture.Source. The kernel counts every packet exactly (Stats.Kernel)
// whatever user space keeps up with.
package tcring

import (
	"encoding/binary"
	"fmt"

	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
)

// record is one ring record turned into a frame: rec[start:start+capLen].
type record struct {
	start, capLen, wireLen int
	monoNs                 uint64
	dir                    decode.Direction
}

// parseRecord reads a record's header and, when the kernel had moved the
// frame's VLAN tag into metadata, puts the tag back in front of the
// EtherType by moving the MAC addresses into the (already parsed) header's
// space, so the frame is as on the wire. The TPID is not in the record, so
// a re-inserted tag is always 802.1Q (0x8100).
func parseRecord(rec []byte) (record, error) {
	h, frame, err := bpf.ParseRecord(rec)
	if err != nil {
		return record{}, fmt.Errorf("tc ring record: %w", err)
	}
	r := record{start: bpf.RecordHeaderLen, capLen: len(frame), wireLen: int(h.WireLen), monoNs: h.TsNs, dir: decode.DirIn}
	if h.Flags&bpf.RecordEgress != 0 {
		r.dir = decode.DirOut
	}
	if h.Flags&bpf.RecordVLAN != 0 && r.capLen >= 12 && r.start >= 4 {
		s := r.start
		copy(rec[s-4:s+8], rec[s:s+12])
		binary.BigEndian.PutUint16(rec[s+8:], 0x8100)
		binary.BigEndian.PutUint16(rec[s+10:], h.VlanTci)
		r.start -= 4
		r.capLen += 4
		r.wireLen += 4
	}
	return r, nil
}
