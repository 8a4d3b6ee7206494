package flow

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Fixed layouts of the pre-template NetFlow versions.
const (
	v1HeaderLen = 16
	v1RecordLen = 48
	v1MaxCount  = 24
	v5HeaderLen = 24
	v5RecordLen = 48
	v5MaxCount  = 30
	v7HeaderLen = 24
	v7RecordLen = 52
	v7MaxCount  = 28
)

// decodeLegacy decodes NetFlow v1, v5 and v7. The record count must be in
// 1..max and the datagram must be exactly header + count*record bytes: these
// versions have no set structure to resynchronise on, so anything else is a
// corrupt or foreign datagram (compat §1.4).
func decodeLegacy(version uint16, exporter netip.Addr, data []byte, dst []Record, info *Info) ([]Record, error) {
	hlen, rlen, maxc := v5HeaderLen, v5RecordLen, v5MaxCount
	switch version {
	case 1:
		hlen, rlen, maxc = v1HeaderLen, v1RecordLen, v1MaxCount
	case 7:
		hlen, rlen, maxc = v7HeaderLen, v7RecordLen, v7MaxCount
	}
	if len(data) < hlen {
		return dst, nfErr(version, len(data), ErrTruncated, "header")
	}
	count := int(binary.BigEndian.Uint16(data[2:]))
	if count < 1 || count > maxc {
		return dst, nfErr(version, 2, ErrMalformed, "record count out of range")
	}
	if len(data) != hlen+count*rlen {
		if len(data) < hlen+count*rlen {
			return dst, nfErr(version, len(data), ErrTruncated, "datagram shorter than its record count")
		}
		return dst, nfErr(version, hlen+count*rlen, ErrMalformed, "datagram longer than its record count")
	}
	uptime := binary.BigEndian.Uint32(data[4:])
	export := time.Unix(int64(binary.BigEndian.Uint32(data[8:])), int64(binary.BigEndian.Uint32(data[12:])%1e9)).UTC()
	info.Exported = export
	if version == 5 {
		// Low 14 bits: the interval; top two bits: the sampling mode.
		info.SamplingInterval = uint32(binary.BigEndian.Uint16(data[22:]) & 0x3fff)
	}
	for i := 0; i < count; i++ {
		b := data[hlen+i*rlen : hlen+(i+1)*rlen]
		dst = append(dst, Record{})
		r := &dst[len(dst)-1]
		r.Device = exporter
		r.Src = netip.AddrFrom4([4]byte(b[0:4]))
		r.Dst = netip.AddrFrom4([4]byte(b[4:8]))
		r.NextHop = netip.AddrFrom4([4]byte(b[8:12]))
		r.InIf = uint32(binary.BigEndian.Uint16(b[12:]))
		r.OutIf = uint32(binary.BigEndian.Uint16(b[14:]))
		r.HasInIf, r.HasOutIf = true, true
		r.Packets = uint64(binary.BigEndian.Uint32(b[16:]))
		r.Bytes = uint64(binary.BigEndian.Uint32(b[20:]))
		r.Start = uptimeTime(export, uptime, binary.BigEndian.Uint32(b[24:]))
		r.End = uptimeTime(export, uptime, binary.BigEndian.Uint32(b[28:]))
		r.SrcPort = binary.BigEndian.Uint16(b[32:])
		r.DstPort = binary.BigEndian.Uint16(b[34:])
		r.Exported = export
		r.IPVersion = 4
		if version == 1 {
			r.Proto, r.TOS, r.TCPFlags = b[38], b[39], b[40]
			continue
		}
		r.TCPFlags, r.Proto, r.TOS = b[37], b[38], b[39]
		r.SrcAS = uint32(binary.BigEndian.Uint16(b[40:]))
		r.DstAS = uint32(binary.BigEndian.Uint16(b[42:]))
		r.SrcMask, r.DstMask = b[44], b[45]
	}
	info.Records += count
	return dst, nil
}

// uptimeTime converts a sysUptime-relative timestamp (ms) to wall time, given
// the export time and the uptime at export. uint32 arithmetic makes the
// difference correct across uptime wrap.
func uptimeTime(export time.Time, uptimeNow, at uint32) time.Time {
	if export.IsZero() {
		return time.Time{}
	}
	return export.Add(-time.Duration(int32(uptimeNow-at)) * time.Millisecond)
}
