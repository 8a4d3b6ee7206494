// Package flow decodes flow telemetry (sFlow v5, NetFlow v1/v5/v7/v9, IPFIX)
// into flat Records without allocating per record.
package flow

import (
	"net/netip"
	"time"
)

// Record is one flow (NetFlow/IPFIX) or one flow sample (sFlow), normalised.
// For sFlow, Packets and Bytes are the sampled packet's count (1) and length;
// the handler scales them by SampleRate when configured to.
type Record struct {
	// Device is the exporter: the sFlow agent address from the datagram,
	// or the NetFlow/IPFIX sender address.
	Device netip.Addr

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ICMP type/code are stored here as pktvisor does
	Proto            uint8
	TOS              uint8
	TCPFlags         uint8

	Packets, Bytes uint64
	SampleRate     uint32 // 0 or 1: unsampled

	InIf, OutIf       uint32
	HasInIf, HasOutIf bool

	SrcAS, DstAS     uint32
	SrcMask, DstMask uint8
	NextHop          netip.Addr

	Start, End time.Time // flow first/last switched, when exported
	Exported   time.Time // the datagram's export time, zero if unknown

	// IPVersion is 4 or 6 when the exporter said so (or the addresses
	// tell), else 0.
	IPVersion uint8
}

// Reset clears r for reuse.
func (r *Record) Reset() { *r = Record{} }
