// Package dhcp decodes the parts of DHCPv4 (RFC 2131) and DHCPv6 (RFC 8415)
// messages that pktvisor's dhcp handler reports: message type, transaction
// id, client hardware address, offered address, host name, and whether a
// server identifier is present.
//
// Parsing writes into a struct the caller owns and never allocates; byte
// fields alias the input. Option walks are bounded by the message length and
// by MaxOptions, so a hostile message costs at most that many steps.
package dhcp

import (
	"encoding/binary"
	"errors"
)

// Sentinel errors; test with errors.Is.
var (
	ErrTruncated = errors.New("dhcp: truncated")
	ErrMalformed = errors.New("dhcp: malformed")
)

// MaxOptions bounds the options visited in one message. Real messages carry
// a few dozen; the bound only matters for hostile input.
const MaxOptions = 512

// DHCPv4 message types (option 53).
const (
	Discover = 1
	Offer    = 2
	Request  = 3
	Decline  = 4
	Ack      = 5
	Nak      = 6
	Release  = 7
	Inform   = 8
)

// DHCPv6 message types.
const (
	Solicit     = 1
	Advertise   = 2
	RequestV6   = 3
	Confirm     = 4
	Renew       = 5
	Rebind      = 6
	Reply       = 7
	ReleaseV6   = 8
	DeclineV6   = 9
	Reconfigure = 10
	InfoRequest = 11
	RelayForw   = 12
	RelayRepl   = 13
)

const (
	v4HeaderLen   = 236 // BOOTP fixed header
	v4CookieLen   = 4
	v4Cookie      = 0x63825363
	optPad        = 0
	optHostname   = 12
	optMsgType    = 53
	optServerID   = 54
	optEnd        = 255
	v6OptServerID = 2
	v6RelayHdrLen = 34
)

// V4 is a decoded DHCPv4 message.
type V4 struct {
	Op     uint8
	HType  uint8
	HLen   uint8
	XID    uint32
	CIAddr [4]byte
	YIAddr [4]byte // "your" address: the one the server assigns
	SIAddr [4]byte
	// CHAddr is the first six bytes of the client hardware address field,
	// whatever HLen says (pktvisor reads it the same way).
	CHAddr [6]byte
	// MsgType is option 53, or 0 when absent (a BOOTP message, or a message
	// without the magic cookie).
	MsgType uint8
	// Hostname is option 12 without trailing NULs; nil when absent. It
	// aliases the input.
	Hostname    []byte
	HasHostname bool
	ServerID    [4]byte
	HasServerID bool
}

// ParseV4 decodes b (a UDP payload) into m. A message shorter than the
// fixed header is ErrTruncated; a header without the magic cookie parses
// with MsgType 0. Options cut short end the walk with ErrTruncated, keeping
// what was read before.
func ParseV4(b []byte, m *V4) error {
	*m = V4{}
	if len(b) < v4HeaderLen {
		return ErrTruncated
	}
	m.Op, m.HType, m.HLen = b[0], b[1], b[2]
	m.XID = binary.BigEndian.Uint32(b[4:8])
	copy(m.CIAddr[:], b[12:16])
	copy(m.YIAddr[:], b[16:20])
	copy(m.SIAddr[:], b[20:24])
	copy(m.CHAddr[:], b[28:34])
	if len(b) < v4HeaderLen+v4CookieLen || binary.BigEndian.Uint32(b[v4HeaderLen:]) != v4Cookie {
		return nil
	}
	opts := b[v4HeaderLen+v4CookieLen:]
	for i, n := 0, 0; i < len(opts) && n < MaxOptions; n++ {
		code := opts[i]
		if code == optPad {
			i++
			continue
		}
		if code == optEnd {
			return nil
		}
		if i+2 > len(opts) {
			return ErrTruncated
		}
		l := int(opts[i+1])
		v := i + 2
		if v+l > len(opts) {
			return ErrTruncated
		}
		val := opts[v : v+l]
		switch code {
		case optMsgType:
			if l >= 1 && m.MsgType == 0 {
				m.MsgType = val[0]
			}
		case optHostname:
			if !m.HasHostname {
				m.Hostname, m.HasHostname = trimNUL(val), true
			}
		case optServerID:
			if l >= 4 && !m.HasServerID {
				copy(m.ServerID[:], val[:4])
				m.HasServerID = true
			}
		}
		i = v + l
	}
	return nil
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// V6 is a decoded DHCPv6 message.
type V6 struct {
	MsgType uint8
	// XID is the 24-bit transaction id (0 for relay messages).
	XID uint32
	// ServerID is the DUID of option 2; nil when absent. It aliases the
	// input.
	ServerID    []byte
	HasServerID bool
}

// ParseV6 decodes b (a UDP payload) into m. Relay messages report their
// type only: their options wrap another message, which pktvisor does not
// look into either.
func ParseV6(b []byte, m *V6) error {
	*m = V6{}
	if len(b) < 1 {
		return ErrTruncated
	}
	m.MsgType = b[0]
	if m.MsgType == RelayForw || m.MsgType == RelayRepl {
		if len(b) < v6RelayHdrLen {
			return ErrTruncated
		}
		return nil
	}
	if len(b) < 4 {
		return ErrTruncated
	}
	m.XID = uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	opts := b[4:]
	for i, n := 0, 0; i < len(opts) && n < MaxOptions; n++ {
		if i+4 > len(opts) {
			return ErrTruncated
		}
		code := binary.BigEndian.Uint16(opts[i:])
		l := int(binary.BigEndian.Uint16(opts[i+2:]))
		v := i + 4
		if v+l > len(opts) {
			return ErrTruncated
		}
		if code == v6OptServerID && !m.HasServerID {
			m.ServerID, m.HasServerID = opts[v:v+l], true
		}
		i = v + l
	}
	return nil
}

// IsV4Port reports whether a UDP port pair carries DHCPv4 (67/68), the test
// pktvisor applies before DHCPv6's.
func IsV4Port(src, dst uint16) bool { return src == 67 || dst == 67 || src == 68 || dst == 68 }

// IsV6Port reports whether a UDP port pair carries DHCPv6 (546/547).
func IsV6Port(src, dst uint16) bool { return src == 546 || dst == 546 || src == 547 || dst == 547 }
