package flow

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Where a template field's value goes. Information element numbers are
// shared by NetFlow v9 and IPFIX (RFC 3954 §8, IANA IPFIX registry).
const (
	tgtSkip uint8 = iota
	tgtBytes
	tgtPackets
	tgtProto
	tgtTOS
	tgtTCPFlags
	tgtSrcPort
	tgtDstPort
	tgtSrc4
	tgtDst4
	tgtSrc6
	tgtDst6
	tgtSrcMask
	tgtDstMask
	tgtInIf
	tgtOutIf
	tgtNextHop4
	tgtNextHop6
	tgtSrcAS
	tgtDstAS
	tgtLastUptime
	tgtFirstUptime
	tgtIPVersion
	tgtStartSec
	tgtEndSec
	tgtStartMs
	tgtEndMs
)

// ieTarget maps an IANA information element number to its target.
func ieTarget(ie uint16) uint8 {
	switch ie {
	case 1: // octetDeltaCount / IN_BYTES
		return tgtBytes
	case 2: // packetDeltaCount / IN_PKTS
		return tgtPackets
	case 4:
		return tgtProto
	case 5:
		return tgtTOS
	case 6:
		return tgtTCPFlags
	case 7:
		return tgtSrcPort
	case 8:
		return tgtSrc4
	case 9, 29:
		return tgtSrcMask
	case 10:
		return tgtInIf
	case 11:
		return tgtDstPort
	case 12:
		return tgtDst4
	case 13, 30:
		return tgtDstMask
	case 14:
		return tgtOutIf
	case 15:
		return tgtNextHop4
	case 16:
		return tgtSrcAS
	case 17:
		return tgtDstAS
	case 21:
		return tgtLastUptime
	case 22:
		return tgtFirstUptime
	case 27:
		return tgtSrc6
	case 28:
		return tgtDst6
	case 60:
		return tgtIPVersion
	case 62:
		return tgtNextHop6
	case 150:
		return tgtStartSec
	case 151:
		return tgtEndSec
	case 152:
		return tgtStartMs
	case 153:
		return tgtEndMs
	}
	return tgtSkip
}

const (
	v9HeaderLen    = 20
	ipfixHeaderLen = 16
	setHeaderLen   = 4
	varLength      = 0xffff
)

// hdr is what the datagram header tells the record decoder.
type hdr struct {
	version  uint16
	exporter netip.Addr
	domain   uint32
	export   time.Time
	uptime   uint32 // v9 only
	now      time.Time
}

func (d *Decoder) decodeV9(exporter netip.Addr, now time.Time, data []byte, dst []Record, info *Info) ([]Record, error) {
	if len(data) < v9HeaderLen {
		return dst, nfErr(9, len(data), ErrTruncated, "header")
	}
	h := hdr{
		version:  9,
		exporter: exporter,
		uptime:   binary.BigEndian.Uint32(data[4:]),
		export:   time.Unix(int64(binary.BigEndian.Uint32(data[8:])), 0).UTC(),
		domain:   binary.BigEndian.Uint32(data[16:]),
		now:      now,
	}
	info.Sequence = binary.BigEndian.Uint32(data[12:])
	info.Domain, info.Exported = h.domain, h.export
	return d.decodeSets(&h, data, v9HeaderLen, dst, info)
}

func (d *Decoder) decodeIPFIX(exporter netip.Addr, now time.Time, data []byte, dst []Record, info *Info) ([]Record, error) {
	if len(data) < ipfixHeaderLen {
		return dst, nfErr(10, len(data), ErrTruncated, "header")
	}
	n := int(binary.BigEndian.Uint16(data[2:]))
	if n < ipfixHeaderLen {
		return dst, nfErr(10, 2, ErrMalformed, "message length shorter than the header")
	}
	if n > len(data) {
		return dst, nfErr(10, len(data), ErrTruncated, "message length beyond the datagram")
	}
	data = data[:n] // bytes after the message are not ours
	h := hdr{
		version:  10,
		exporter: exporter,
		export:   time.Unix(int64(binary.BigEndian.Uint32(data[4:])), 0).UTC(),
		domain:   binary.BigEndian.Uint32(data[12:]),
		now:      now,
	}
	info.Sequence = binary.BigEndian.Uint32(data[8:])
	info.Domain, info.Exported = h.domain, h.export
	return d.decodeSets(&h, data, ipfixHeaderLen, dst, info)
}

// decodeSets walks the flowsets (v9) or sets (IPFIX) after the header. A
// set with an unknown template is counted and skipped; the datagram goes on.
func (d *Decoder) decodeSets(h *hdr, data []byte, off int, dst []Record, info *Info) ([]Record, error) {
	tmplSet, optSet := uint16(0), uint16(1)
	if h.version == 10 {
		tmplSet, optSet = 2, 3
	}
	for len(data)-off >= setHeaderLen {
		id := binary.BigEndian.Uint16(data[off:])
		n := int(binary.BigEndian.Uint16(data[off+2:]))
		if n < setHeaderLen {
			return dst, nfErr(h.version, off+2, ErrMalformed, "set length shorter than its header")
		}
		if off+n > len(data) {
			return dst, nfErr(h.version, off+2, ErrTruncated, "set length beyond the datagram")
		}
		body := data[off+setHeaderLen : off+n]
		var err error
		switch {
		case id == tmplSet:
			err = d.templateSet(h, body, off+setHeaderLen, false, info)
		case id == optSet:
			err = d.templateSet(h, body, off+setHeaderLen, true, info)
		case id >= 256:
			dst, err = d.dataSet(h, id, body, off+setHeaderLen, dst, info)
		default:
			// Reserved set ids: skipped, as RFC 7011 §3.3.2 asks.
		}
		if err != nil {
			return dst, err
		}
		off += n
	}
	// Fewer than 4 trailing bytes: padding.
	return dst, nil
}

// templateSet parses the template records of one (options) template set.
func (d *Decoder) templateSet(h *hdr, b []byte, base int, options bool, info *Info) error {
	off := 0
	for len(b)-off >= 4 {
		id := binary.BigEndian.Uint16(b[off:])
		var nfields int
		start := off
		if h.version == 9 && options {
			// templateID, option scope length, option length (bytes).
			if len(b)-off < 6 {
				return nil // padding
			}
			scope := int(binary.BigEndian.Uint16(b[off+2:]))
			opt := int(binary.BigEndian.Uint16(b[off+4:]))
			if scope%4 != 0 || opt%4 != 0 {
				return nfErr(h.version, base+off, ErrMalformed, "options template lengths not multiples of 4")
			}
			nfields = (scope + opt) / 4
			off += 6
		} else {
			nfields = int(binary.BigEndian.Uint16(b[off+2:]))
			off += 4
			if h.version == 10 && options {
				if len(b)-off < 2 {
					return nfErr(h.version, base+off, ErrTruncated, "options template scope count")
				}
				off += 2 // scope field count: the scope fields are among nfields
			}
		}
		if id < 256 {
			if id == 0 && nfields == 0 {
				return nil // padding at the end of the set
			}
			if h.version == 10 && nfields == 0 && (id == 2 || id == 3) {
				// "Withdraw all templates" of a set id: rare; drop the domain's templates lazily by expiry.
				info.Withdrawals++
				continue
			}
			return nfErr(h.version, base+start, ErrMalformed, "template id below 256")
		}
		if h.version == 10 && nfields == 0 {
			d.templates.withdraw(templateKey{h.exporter, h.domain, id, h.version})
			info.Withdrawals++
			continue
		}
		d.fields = d.fields[:0]
		minLen := 0
		for i := 0; i < nfields; i++ {
			if len(b)-off < 4 {
				return nfErr(h.version, base+off, ErrTruncated, "template field list")
			}
			ie := binary.BigEndian.Uint16(b[off:])
			l := binary.BigEndian.Uint16(b[off+2:])
			off += 4
			tgt := ieTarget(ie)
			if h.version == 10 && ie&0x8000 != 0 {
				// Enterprise-specific: a 4-byte PEN follows; the value is skipped.
				if len(b)-off < 4 {
					return nfErr(h.version, base+off, ErrTruncated, "enterprise number")
				}
				off += 4
				tgt = tgtSkip
			}
			if l == varLength {
				minLen++
			} else {
				minLen += int(l)
			}
			if len(d.fields) < MaxTemplateFields {
				d.fields = append(d.fields, field{length: l, target: tgt})
			}
		}
		if nfields > MaxTemplateFields || minLen == 0 {
			// Parsed to keep our place in the set, but not stored: a
			// zero-length record would loop forever, a huge field count
			// is memory an attacker chooses.
			d.templates.reject()
			info.BadTemplates++
			continue
		}
		d.templates.put(templateKey{h.exporter, h.domain, id, h.version}, d.fields, options, h.now)
		if options {
			info.OptionTemplates++
		} else {
			info.Templates++
		}
	}
	return nil
}

// dataSet decodes the records of one data set with its template.
func (d *Decoder) dataSet(h *hdr, id uint16, b []byte, base int, dst []Record, info *Info) ([]Record, error) {
	t := d.templates.get(templateKey{h.exporter, h.domain, id, h.version}, h.now)
	if t == nil {
		info.UnknownSets++
		info.UnknownBytes += len(b)
		return dst, nil
	}
	off := 0
	for len(b)-off >= t.minLen {
		if !t.options && len(dst) >= d.maxRecords {
			return dst, nfErr(h.version, base+off, ErrMalformed, "too many records in one datagram")
		}
		var r *Record
		if !t.options {
			dst = append(dst, Record{})
			r = &dst[len(dst)-1]
		}
		next, ok := decodeRecord(h, t, b, off, r)
		if !ok {
			if r != nil {
				dst = dst[:len(dst)-1]
			}
			// A variable-length field running past the set: if what
			// remains could be padding, stop quietly.
			if t.variable && allZero(b[off:]) {
				return dst, nil
			}
			return dst, nfErr(h.version, base+off, ErrTruncated, "record beyond its set")
		}
		off = next
		if t.options {
			info.OptionRecords++
		} else {
			info.Records++
		}
	}
	return dst, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeRecord decodes one data record starting at b[off] into r (nil: walk
// only) and returns the offset after it.
func decodeRecord(h *hdr, t *template, b []byte, off int, r *Record) (int, bool) {
	if r != nil {
		r.Device = h.exporter
		r.Exported = h.export
	}
	for _, f := range t.fields {
		l := int(f.length)
		if f.length == varLength {
			if off >= len(b) {
				return off, false
			}
			l = int(b[off])
			off++
			if l == 255 {
				if len(b)-off < 2 {
					return off, false
				}
				l = int(binary.BigEndian.Uint16(b[off:]))
				off += 2
			}
		}
		if len(b)-off < l {
			return off, false
		}
		if r != nil && f.target != tgtSkip {
			setField(h, r, f.target, b[off:off+l])
		}
		off += l
	}
	if r != nil && r.IPVersion == 0 {
		if r.Src.Is4() || r.Dst.Is4() {
			r.IPVersion = 4
		} else if r.Src.Is6() || r.Dst.Is6() {
			r.IPVersion = 6
		}
	}
	return off, true
}

// beUint reads an unsigned integer of any width. IPFIX allows reduced-size
// encoding (RFC 7011 §6.2), so 1..8 bytes are all valid; wider values keep
// their low-order 8 bytes (pktvisor keeps the high-order half — a deliberate
// difference: the low-order bytes are the value's significant ones).
func beUint(v []byte) uint64 {
	if len(v) > 8 {
		v = v[len(v)-8:]
	}
	var x uint64
	for _, c := range v {
		x = x<<8 | uint64(c)
	}
	return x
}

func setField(h *hdr, r *Record, tgt uint8, v []byte) {
	switch tgt {
	case tgtSrc4, tgtDst4, tgtNextHop4:
		if len(v) != 4 {
			return
		}
		a := netip.AddrFrom4([4]byte(v))
		switch tgt {
		case tgtSrc4:
			r.Src = a
		case tgtDst4:
			r.Dst = a
		default:
			r.NextHop = a
		}
		return
	case tgtSrc6, tgtDst6, tgtNextHop6:
		if len(v) != 16 {
			return
		}
		a := netip.AddrFrom16([16]byte(v))
		switch tgt {
		case tgtSrc6:
			r.Src = a
		case tgtDst6:
			r.Dst = a
		default:
			r.NextHop = a
		}
		return
	}
	if len(v) == 0 {
		return
	}
	x := beUint(v)
	switch tgt {
	case tgtBytes:
		r.Bytes = x
	case tgtPackets:
		r.Packets = x
	case tgtProto:
		r.Proto = uint8(x)
	case tgtTOS:
		r.TOS = uint8(x)
	case tgtTCPFlags:
		r.TCPFlags = uint8(x) // IPFIX sends 2 bytes: the low one holds the classic flags
	case tgtSrcPort:
		r.SrcPort = uint16(x)
	case tgtDstPort:
		r.DstPort = uint16(x)
	case tgtSrcMask:
		r.SrcMask = uint8(x)
	case tgtDstMask:
		r.DstMask = uint8(x)
	case tgtInIf:
		r.InIf, r.HasInIf = uint32(x), true
	case tgtOutIf:
		r.OutIf, r.HasOutIf = uint32(x), true
	case tgtSrcAS:
		r.SrcAS = uint32(x)
	case tgtDstAS:
		r.DstAS = uint32(x)
	case tgtIPVersion:
		r.IPVersion = uint8(x)
	case tgtFirstUptime:
		if h.version == 9 { // IPFIX: relative to an init time only options data carry
			r.Start = uptimeTime(h.export, h.uptime, uint32(x))
		}
	case tgtLastUptime:
		if h.version == 9 {
			r.End = uptimeTime(h.export, h.uptime, uint32(x))
		}
	case tgtStartSec:
		r.Start = time.Unix(int64(x), 0).UTC()
	case tgtEndSec:
		r.End = time.Unix(int64(x), 0).UTC()
	case tgtStartMs:
		r.Start = time.UnixMilli(int64(x)).UTC()
	case tgtEndMs:
		r.End = time.UnixMilli(int64(x)).UTC()
	}
}
