package dnshandler

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/decode/dns"
	"github.com/visorng/visor/sketches"
)

// transport is the DNS transport of a message, as pktvisor distinguishes
// them (dnstap can report the encrypted ones).
type transport uint8

const (
	trUnknown transport = iota
	trUDP
	trTCP
	trDOT
	trDOH
	trDNSCryptUDP
	trDNSCryptTCP
	trDOQ
)

// Transaction directions of v2 (and the index of its sections).
const (
	dirUnknown = 0
	dirIn      = 1 // the host is the server
	dirOut     = 2 // the host is the client
)

var dirNames = [3]string{"unknown", "in", "out"}

// event is one DNS message with the facts the handlers need, whatever input
// it came from.
type event struct {
	ts     time.Time
	dir    decode.Direction // packet direction (pcap); unused for dnstap
	l3     decode.L3
	l4     transport
	flow   uint64
	port   uint16 // the non-DNS port (dnstap: query_port)
	size   int    // DNS message length
	msg    *dns.Message
	parsed bool // msg holds a parsed message (false: dnstap frame without one)
	query  bool // QR bit clear (dnstap: from the message type)

	dnstap     bool
	dnstapType handler.DnstapType
	xdir       int // v2 transaction direction for dnstap
}

// queryDir maps a packet direction to the transaction direction of a query
// (toHost: the host serves) and replyDir that of a reply.
func queryDir(d decode.Direction) int {
	switch d {
	case decode.DirIn:
		return dirIn
	case decode.DirOut:
		return dirOut
	}
	return dirUnknown
}

func replyDir(d decode.Direction) int {
	switch d {
	case decode.DirIn:
		return dirOut
	case decode.DirOut:
		return dirIn
	}
	return dirUnknown
}

// dnstapDir gives the v2 transaction direction of a dnstap message type:
// the host is the server for CLIENT/AUTH/UPDATE messages.
func dnstapDir(t handler.DnstapType) int {
	switch t {
	case handler.DnstapClientQuery, handler.DnstapClientResponse, handler.DnstapAuthQuery,
		handler.DnstapAuthResponse, handler.DnstapUpdateQuery, handler.DnstapUpdateResponse:
		return dirIn
	case 0:
		return dirUnknown
	}
	return dirOut
}

// dnstapTime picks the event time as pktvisor does: the message's own
// query/response time for CLIENT, AUTH and RESOLVER messages, else now.
func dnstapTime(m *handler.DnstapMessage, now func() time.Time) time.Time {
	switch m.Type {
	case handler.DnstapClientResponse, handler.DnstapAuthResponse, handler.DnstapResolverResponse:
		if !m.ResponseTime.IsZero() {
			return m.ResponseTime
		}
	case handler.DnstapClientQuery, handler.DnstapAuthQuery, handler.DnstapResolverQuery:
		if !m.QueryTime.IsZero() {
			return m.QueryTime
		}
	}
	return now()
}

func dnstapTransport(p handler.DnstapProtocol) transport {
	switch p {
	case handler.DnstapUDP:
		return trUDP
	case handler.DnstapTCP:
		return trTCP
	case handler.DnstapDOT:
		return trDOT
	case handler.DnstapDOH:
		return trDOH
	case handler.DnstapDNSCryptUDP:
		return trDNSCryptUDP
	case handler.DnstapDNSCryptTCP:
		return trDNSCryptTCP
	case handler.DnstapDOQ:
		return trDOQ
	}
	return trUnknown
}

// dnstapFlow keys dnstap transactions by the addresses and ports the
// message carries (both the query and its response carry the same ones),
// so concurrent clients reusing a DNS ID do not collide. pktvisor used the
// constant 2 here; messages without addresses still hash to one constant.
func dnstapFlow(m *handler.DnstapMessage) uint64 {
	h := sketches.HashAddr(m.QueryAddr)
	h ^= sketches.HashUint64(uint64(m.QueryPort)<<16|uint64(m.ResponsePort)) * 31
	h ^= sketches.HashAddr(m.ResponseAddr) * 17
	return h
}

// filterResult is the verdict of the filters plus the static suffix length
// a matching only_qname_suffix entry sets for qname aggregation.
type verdict struct {
	pass      bool
	suffixLen int
}

func hasUint8(list []uint8, v uint8) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func hasUint16(list []uint16, v uint16) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// suffixMatch returns the length of the first configured suffix name ends
// with, or -1.
func (s *settings) suffixMatch(name []byte) int {
	for _, suf := range s.qnameSuffixes {
		if bytes.HasSuffix(name, suf) {
			return len(suf)
		}
	}
	return -1
}

func (s *settings) qnameListed(name []byte) bool {
	for _, n := range s.onlyQnames {
		if bytes.Equal(n, name) {
			return true
		}
	}
	return false
}

// staticSuffix is the suffix length used for qname aggregation when no
// only_qname_suffix filter decided it: the public suffix, if enabled.
func (s *settings) staticSuffix(name []byte) int {
	if s.psl != nil && len(s.qnameSuffixes) == 0 {
		return s.psl.SuffixLen(name)
	}
	if len(s.qnameSuffixes) > 0 {
		if n := s.suffixMatch(name); n > 0 {
			return n
		}
	}
	return 0
}

// ecsUnknown reports whether the query carries ECS whose geo (or ASN)
// lookup says "Unknown"; false without a database.
func ecsUnknown(e handler.Enricher, m *dns.Message, asn bool) bool {
	if e == nil || !m.ECS.Present || !m.ECS.Addr.IsValid() {
		return false
	}
	if asn {
		s, ok := e.ASN(m.ECS.Addr)
		return ok && s == "Unknown"
	}
	loc, ok := e.City(m.ECS.Addr)
	return ok && loc.Name == "Unknown"
}

// ecsAddr is the client subnet address of a query, or the zero Addr.
func ecsAddr(m *dns.Message) netip.Addr {
	if m.QR || !m.ECS.Present {
		return netip.Addr{}
	}
	return m.ECS.Addr
}

// lenPrefix reads a DNS-over-TCP length prefix.
func lenPrefix(b []byte) int { return int(binary.BigEndian.Uint16(b)) }
