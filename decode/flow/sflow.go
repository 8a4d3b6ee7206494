package flow

import (
	"encoding/binary"
	"net/netip"

	"github.com/visorng/visor/decode"
)

// sFlow v5 structure numbers (sFlow.org, sflow_version_5.txt).
const (
	sfFlowSample            = 1
	sfCounterSample         = 2
	sfExpandedFlowSample    = 3
	sfExpandedCounterSample = 4

	sfRawHeader   = 1
	sfSampledIPv4 = 3
	sfSampledIPv6 = 4

	sfHeaderEthernet = 1
	sfHeaderIPv4     = 11
	sfHeaderIPv6     = 12

	sfMaxSamples  = 4096
	sfMaxElements = 4096
)

// DecodeSFlow decodes an sFlow v5 datagram, appending one record per flow
// sample to dst[:0]. The record's Device is the agent address from the
// datagram; Packets is 1 and Bytes the sampled frame's length, SampleRate the
// sample's rate (the handler scales). Counter samples are walked and skipped.
// On error the records decoded before the fault are returned and valid.
func (d *Decoder) DecodeSFlow(data []byte, dst []Record) ([]Record, Info, error) {
	dst = dst[:0]
	var info Info
	if len(data) < 8 {
		return dst, info, sfErr(0, len(data), ErrTruncated, "header")
	}
	v := binary.BigEndian.Uint32(data)
	info.Version = v
	if v != 5 {
		return dst, info, sfErr(v, 0, ErrVersion, "only version 5 is decoded")
	}
	off := 8
	switch binary.BigEndian.Uint32(data[4:]) {
	case 1:
		if len(data) < off+4 {
			return dst, info, sfErr(v, off, ErrTruncated, "agent address")
		}
		info.Device = netip.AddrFrom4([4]byte(data[off : off+4]))
		off += 4
	case 2:
		if len(data) < off+16 {
			return dst, info, sfErr(v, off, ErrTruncated, "agent address")
		}
		info.Device = netip.AddrFrom16([16]byte(data[off : off+16]))
		off += 16
	default:
		return dst, info, sfErr(v, 4, ErrMalformed, "agent address type")
	}
	if len(data) < off+16 {
		return dst, info, sfErr(v, off, ErrTruncated, "header")
	}
	info.Domain = binary.BigEndian.Uint32(data[off:])
	info.Sequence = binary.BigEndian.Uint32(data[off+4:])
	n := binary.BigEndian.Uint32(data[off+12:])
	off += 16
	if n > sfMaxSamples {
		return dst, info, sfErr(v, off-4, ErrMalformed, "sample count")
	}
	for i := uint32(0); i < n; i++ {
		if len(data)-off < 8 {
			return dst, info, sfErr(v, off, ErrTruncated, "sample header")
		}
		format := binary.BigEndian.Uint32(data[off:])
		l := binary.BigEndian.Uint32(data[off+4:])
		off += 8
		if uint64(l) > uint64(len(data)-off) {
			return dst, info, sfErr(v, off-4, ErrTruncated, "sample length beyond the datagram")
		}
		body := data[off : off+int(l)]
		base := off
		off += int(l)
		if format>>12 != 0 {
			info.OtherSamples++ // enterprise-specific sample
			continue
		}
		switch format & 0xfff {
		case sfFlowSample, sfExpandedFlowSample:
			if len(dst) >= d.maxRecords {
				return dst, info, sfErr(v, base, ErrMalformed, "too many samples")
			}
			dst = append(dst, Record{Device: info.Device, Packets: 1})
			if err := d.flowSample(format&0xfff == sfExpandedFlowSample, body, base, &dst[len(dst)-1]); err != nil {
				dst = dst[:len(dst)-1]
				return dst, info, err
			}
			info.FlowSamples++
			info.Records++
		case sfCounterSample, sfExpandedCounterSample:
			if err := counterSample(format&0xfff == sfExpandedCounterSample, body, base); err != nil {
				return dst, info, err
			}
			info.CounterSamples++
		default:
			info.OtherSamples++
		}
	}
	return dst, info, nil
}

// ifIndex turns an sFlow interface value into an ifIndex: format 0 (the top
// two bits of the compact form, or the expanded format word) is an ifIndex;
// 1 (discarded) and 2 (several interfaces) are not.
func ifIndex(format, value uint32) (uint32, bool) {
	return value, format == 0
}

func (d *Decoder) flowSample(expanded bool, b []byte, base int, r *Record) error {
	var off int
	var in, out uint32
	var inOK, outOK bool
	if expanded {
		// seq, source id type, source id index, rate, pool, drops,
		// input format, input value, output format, output value, count.
		if len(b) < 44 {
			return sfErr(5, base+len(b), ErrTruncated, "expanded flow sample")
		}
		r.SampleRate = binary.BigEndian.Uint32(b[12:])
		in, inOK = ifIndex(binary.BigEndian.Uint32(b[24:]), binary.BigEndian.Uint32(b[28:]))
		out, outOK = ifIndex(binary.BigEndian.Uint32(b[32:]), binary.BigEndian.Uint32(b[36:]))
		off = 40
	} else {
		// seq, source id, rate, pool, drops, input, output, count.
		if len(b) < 32 {
			return sfErr(5, base+len(b), ErrTruncated, "flow sample")
		}
		r.SampleRate = binary.BigEndian.Uint32(b[8:])
		iv, ov := binary.BigEndian.Uint32(b[20:]), binary.BigEndian.Uint32(b[24:])
		in, inOK = ifIndex(iv>>30, iv&0x3fffffff)
		out, outOK = ifIndex(ov>>30, ov&0x3fffffff)
		off = 28
	}
	r.InIf, r.HasInIf = in, inOK
	r.OutIf, r.HasOutIf = out, outOK
	n := binary.BigEndian.Uint32(b[off:])
	off += 4
	if n > sfMaxElements {
		return sfErr(5, base+off-4, ErrMalformed, "flow record count")
	}
	got := false // the first element giving addresses wins
	for i := uint32(0); i < n; i++ {
		if len(b)-off < 8 {
			return sfErr(5, base+off, ErrTruncated, "flow record header")
		}
		format := binary.BigEndian.Uint32(b[off:])
		l := binary.BigEndian.Uint32(b[off+4:])
		off += 8
		if uint64(l) > uint64(len(b)-off) {
			return sfErr(5, base+off-4, ErrTruncated, "flow record length beyond the sample")
		}
		e := b[off : off+int(l)]
		eoff := base + off
		off += int(l)
		if format>>12 != 0 || got {
			continue // enterprise or extended elements (switch, router, gateway, …): skipped
		}
		var err error
		switch format & 0xfff {
		case sfRawHeader:
			got, err = d.rawHeader(e, eoff, r)
		case sfSampledIPv4:
			got, err = sampledIP(false, e, eoff, r)
		case sfSampledIPv6:
			got, err = sampledIP(true, e, eoff, r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rawHeader decodes a sampled packet header with the project's packet
// decoder. A header cut short inside L4 still yields its addresses.
func (d *Decoder) rawHeader(e []byte, base int, r *Record) (bool, error) {
	if len(e) < 16 {
		return false, sfErr(5, base+len(e), ErrTruncated, "raw packet header")
	}
	proto := binary.BigEndian.Uint32(e)
	frameLen := binary.BigEndian.Uint32(e[4:])
	hl := binary.BigEndian.Uint32(e[12:])
	if uint64(hl) > uint64(len(e)-16) {
		return false, sfErr(5, base+12, ErrTruncated, "raw header length beyond the element")
	}
	var link decode.LinkType
	switch proto {
	case sfHeaderEthernet:
		link = decode.LinkEthernet
	case sfHeaderIPv4:
		link = decode.LinkIPv4
	case sfHeaderIPv6:
		link = decode.LinkIPv6
	default:
		return false, nil // 802.11, MPLS, …: the sample counts, without addresses
	}
	r.Bytes = uint64(frameLen)
	p := &d.pkt
	_ = decode.Decode(link, e[16:16+hl], p)
	switch p.L3 {
	case decode.L3IPv4:
		r.IPVersion = 4
	case decode.L3IPv6:
		r.IPVersion = 6
	default:
		return false, nil
	}
	r.Src, r.Dst = p.Src, p.Dst
	r.Proto, r.TOS = p.IPProto, p.TOS
	switch p.L4 {
	case decode.L4UDP, decode.L4TCP:
		r.SrcPort, r.DstPort = p.SrcPort, p.DstPort
		r.TCPFlags = p.TCPFlags
	case decode.L4ICMP:
		r.SrcPort, r.DstPort = uint16(p.ICMPType), uint16(p.ICMPCode)
	}
	return true, nil
}

// sampledIP decodes the sampled IPv4 / IPv6 ("keyed") flow elements.
func sampledIP(v6 bool, e []byte, base int, r *Record) (bool, error) {
	need, alen := 32, 4
	if v6 {
		need, alen = 56, 16
	}
	if len(e) < need {
		return false, sfErr(5, base+len(e), ErrTruncated, "sampled IP element")
	}
	r.Bytes = uint64(binary.BigEndian.Uint32(e))
	r.Proto = uint8(binary.BigEndian.Uint32(e[4:]))
	if v6 {
		r.Src = netip.AddrFrom16([16]byte(e[8:24]))
		r.Dst = netip.AddrFrom16([16]byte(e[24:40]))
		r.IPVersion = 6
	} else {
		r.Src = netip.AddrFrom4([4]byte(e[8:12]))
		r.Dst = netip.AddrFrom4([4]byte(e[12:16]))
		r.IPVersion = 4
	}
	o := 8 + 2*alen
	r.SrcPort = uint16(binary.BigEndian.Uint32(e[o:]))
	r.DstPort = uint16(binary.BigEndian.Uint32(e[o+4:]))
	r.TCPFlags = uint8(binary.BigEndian.Uint32(e[o+8:]))
	r.TOS = uint8(binary.BigEndian.Uint32(e[o+12:]))
	return true, nil
}

// counterSample checks a counter sample's structure (so a corrupt one is
// reported) without keeping its values: the flow handler has no use for them.
func counterSample(expanded bool, b []byte, base int) error {
	off := 8 // seq, source id
	if expanded {
		off = 12
	}
	if len(b) < off+4 {
		return sfErr(5, base+len(b), ErrTruncated, "counter sample")
	}
	n := binary.BigEndian.Uint32(b[off:])
	off += 4
	if n > sfMaxElements {
		return sfErr(5, base+off-4, ErrMalformed, "counter record count")
	}
	for i := uint32(0); i < n; i++ {
		if len(b)-off < 8 {
			return sfErr(5, base+off, ErrTruncated, "counter record header")
		}
		l := binary.BigEndian.Uint32(b[off+4:])
		off += 8
		if uint64(l) > uint64(len(b)-off) {
			return sfErr(5, base+off-4, ErrTruncated, "counter record length beyond the sample")
		}
		off += int(l)
	}
	return nil
}
