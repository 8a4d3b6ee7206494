// Package flow decodes flow telemetry (sFlow v5, NetFlow v1/v5/v7/v9, IPFIX)
// into flat Records without allocating per record.
//
// Deliberate differences from pktvisor (compat §1.4, quirk 9):
//   - v9/IPFIX templates are kept per exporter address, observation domain
//     (source id) and template id, with expiry and bounds (TemplateCache),
//     not in one process-wide map keyed by (domain, template id).
//   - Options templates are stored; their data records are counted and
//     skipped, never failing the datagram. A data set whose template is
//     unknown is counted and skipped; the rest of the datagram decodes.
//   - A template-only datagram is not an error.
//   - Integer fields wider than 8 bytes keep their low-order 8 bytes (pktvisor
//     keeps the high-order half); IPFIX reduced-size encodings are read as
//     the integer they are.
//   - sFlow versions 2 and 4 are rejected with ErrVersion; only v5 is decoded.
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
