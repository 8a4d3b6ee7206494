package flow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/visorng/visor/decode"
)

// DefaultMaxRecords bounds the records one datagram may yield. A 64 KiB
// datagram of 16-byte IPFIX records stays under it; a hostile template of
// one-byte records cannot make a datagram expand into megabytes of Records.
const DefaultMaxRecords = 4096

// Info describes one decoded datagram beyond its flow records.
type Info struct {
	Version  uint32     // NetFlow 1/5/7/9, 10 for IPFIX, sFlow datagram version
	Device   netip.Addr // sFlow agent address; the exporter for NetFlow/IPFIX
	Exported time.Time  // export time from the header (zero for sFlow)
	Sequence uint32
	Domain   uint32 // v9 source id, IPFIX observation domain, sFlow sub-agent id
	Records  int    // flow records produced

	// NetFlow v9 / IPFIX.
	Templates       int // template records stored or refreshed
	OptionTemplates int // options template records stored or refreshed
	Withdrawals     int // IPFIX template withdrawals
	UnknownSets     int // data sets whose template is unknown or expired: skipped
	UnknownBytes    int // bytes of those sets
	OptionRecords   int // options data records (exporter metadata), skipped
	BadTemplates    int // template records rejected (too many fields, zero length)

	// NetFlow v5 header sampling interval (0: not sampled or not said).
	SamplingInterval uint32

	// sFlow.
	FlowSamples    int
	CounterSamples int // parsed for structure and skipped
	OtherSamples   int // unknown sample formats or enterprises, skipped
}

// Decoder decodes flow datagrams into caller-owned Record slices. It keeps
// scratch state, so use one Decoder per goroutine; the TemplateCache may be
// shared.
type Decoder struct {
	templates  *TemplateCache
	maxRecords int
	fields     []field // scratch for parsing a template
	pkt        decode.Packet
}

// NewDecoder returns a decoder using tc for NetFlow v9/IPFIX templates (a
// private cache with default bounds when tc is nil).
func NewDecoder(tc *TemplateCache) *Decoder {
	if tc == nil {
		tc = NewTemplateCache(0, 0, 0)
	}
	return &Decoder{templates: tc, maxRecords: DefaultMaxRecords, fields: make([]field, 0, 64)}
}

// SetMaxRecords changes the per-datagram record bound (n <= 0: default).
func (d *Decoder) SetMaxRecords(n int) {
	if n <= 0 {
		n = DefaultMaxRecords
	}
	d.maxRecords = n
}

// Templates returns the decoder's template cache.
func (d *Decoder) Templates() *TemplateCache { return d.templates }

// DecodeNetFlow decodes a NetFlow v1/v5/v7/v9 or IPFIX datagram sent by
// exporter and received at now (used for template expiry), appending its
// records to dst[:0]. On error, the records decoded before the fault are
// still returned and valid. Records stay valid until dst is reused.
func (d *Decoder) DecodeNetFlow(exporter netip.Addr, now time.Time, data []byte, dst []Record) ([]Record, Info, error) {
	dst = dst[:0]
	info := Info{Device: exporter}
	if len(data) < 2 {
		return dst, info, nfErr(0, len(data), ErrTruncated, "version")
	}
	v := binary.BigEndian.Uint16(data)
	info.Version = uint32(v)
	var err error
	switch v {
	case 1, 5, 7:
		dst, err = decodeLegacy(v, exporter, data, dst, &info)
	case 9:
		dst, err = d.decodeV9(exporter, now, data, dst, &info)
	case 10:
		dst, err = d.decodeIPFIX(exporter, now, data, dst, &info)
	default:
		err = nfErr(v, 0, ErrVersion, "not 1, 5, 7, 9 or 10")
	}
	return dst, info, err
}
