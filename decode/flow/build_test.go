package flow_test

import "encoding/binary"

// Builders for hand-made datagrams. They write what the tests say, without
// validation, so malformed layouts are as easy to build as good ones.

type fieldSpec struct{ ie, length uint16 }

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// v9Header: version 9, count, uptime, secs, seq, source id.
func v9Header(sourceID uint32) []byte {
	b := be16(nil, 9)
	b = be16(b, 0)
	b = be32(b, 100000)     // sysUptime ms
	b = be32(b, 1700000000) // unix secs
	b = be32(b, 1)
	return be32(b, sourceID)
}

func ipfixHeader(domain uint32) []byte {
	b := be16(nil, 10)
	b = be16(b, 0) // length, fixed by finishIPFIX
	b = be32(b, 1700000000)
	b = be32(b, 1)
	return be32(b, domain)
}

func finishIPFIX(b []byte) []byte {
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// set wraps body in a set/flowset header.
func set(id uint16, body []byte) []byte {
	b := be16(nil, id)
	b = be16(b, uint16(4+len(body)))
	return append(b, body...)
}

func templateRecord(id uint16, fields ...fieldSpec) []byte {
	b := be16(nil, id)
	b = be16(b, uint16(len(fields)))
	for _, f := range fields {
		b = be16(b, f.ie)
		b = be16(b, f.length)
	}
	return b
}

// basicFields: src4, dst4, sport, dport, proto, bytes, packets, in, out.
var basicFields = []fieldSpec{{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 4}, {2, 4}, {10, 2}, {14, 2}}

func basicRecord(src, dst byte, bytes, packets uint32) []byte {
	b := []byte{10, 0, 0, src, 10, 0, 0, dst}
	b = be16(b, 1234)
	b = be16(b, 80)
	b = append(b, 6)
	b = be32(b, bytes)
	b = be32(b, packets)
	b = be16(b, 1)
	return be16(b, 2)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// sflowDatagram builds an sFlow v5 datagram from samples (format, body).
func sflowDatagram(agent [4]byte, samples ...[]byte) []byte {
	b := be32(nil, 5)
	b = be32(b, 1)
	b = append(b, agent[:]...)
	b = be32(b, 0) // sub agent
	b = be32(b, 1) // seq
	b = be32(b, 1) // uptime
	b = be32(b, uint32(len(samples)))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

func sample(format uint32, body []byte) []byte {
	b := be32(nil, format)
	b = be32(b, uint32(len(body)))
	return append(b, body...)
}

// flowSample: compact flow sample with rate, in/out and elements.
func flowSample(rate, in, out uint32, elems ...[]byte) []byte {
	b := be32(nil, 1) // seq
	b = be32(b, 3)    // source id
	b = be32(b, rate) // rate
	b = be32(b, 100)  // pool
	b = be32(b, 0)    // drops
	b = be32(b, in)   // input
	b = be32(b, out)  // output
	b = be32(b, uint32(len(elems)))
	for _, e := range elems {
		b = append(b, e...)
	}
	return sample(1, b)
}

func expandedFlowSample(rate, inFmt, in, outFmt, out uint32, elems ...[]byte) []byte {
	b := be32(nil, 1)
	b = be32(b, 0)
	b = be32(b, 3)
	b = be32(b, rate)
	b = be32(b, 100)
	b = be32(b, 0)
	b = be32(b, inFmt)
	b = be32(b, in)
	b = be32(b, outFmt)
	b = be32(b, out)
	b = be32(b, uint32(len(elems)))
	for _, e := range elems {
		b = append(b, e...)
	}
	return sample(3, b)
}

func element(format uint32, body []byte) []byte {
	b := be32(nil, format)
	b = be32(b, uint32(len(body)))
	return append(b, body...)
}

// sampledIPv4 element (format 3).
func sampledIPv4(length uint32, src, dst [4]byte, sport, dport uint32) []byte {
	b := be32(nil, length)
	b = be32(b, 17)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = be32(b, sport)
	b = be32(b, dport)
	b = be32(b, 0)
	b = be32(b, 0x20)
	return element(3, b)
}

// rawIPv4UDP: raw header element (format 1, header protocol ethernet) of an
// Ethernet/IPv4/UDP frame.
func rawIPv4UDP(frameLen uint32) []byte {
	eth := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00}
	ip := []byte{0x45, 0x08, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
	udp := []byte{0x30, 0x39, 0, 53, 0, 8, 0, 0}
	hdr := cat(eth, ip, udp)
	for len(hdr)%4 != 0 {
		hdr = append(hdr, 0)
	}
	b := be32(nil, 1) // ethernet
	b = be32(b, frameLen)
	b = be32(b, 4)
	b = be32(b, uint32(len(eth)+len(ip)+len(udp)))
	return element(1, append(b, hdr...))
}

func counterSampleBytes() []byte {
	b := be32(nil, 1)
	b = be32(b, 3)
	b = be32(b, 1)                                 // one counter record
	b = append(b, element(1, make([]byte, 88))...) // generic interface counters
	return sample(2, b)
}
