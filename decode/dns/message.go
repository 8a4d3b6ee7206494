package dns

import (
	"encoding/binary"
	"net/netip"
)

const headerLen = 12

// Record types and option codes Parse looks at.
const (
	TypeOPT   = 41
	TypeRRSIG = 46
	OptionECS = 8
)

// EDNS holds what the first OPT record says.
type EDNS struct {
	Present  bool
	UDPSize  uint16 // the OPT record's CLASS field
	ExtRcode uint8  // upper 8 bits of the 12-bit rcode
	Version  uint8
	DO       bool // DNSSEC OK
}

// ClientSubnet is the first EDNS Client Subnet option (RFC 7871).
type ClientSubnet struct {
	Present      bool
	Family       uint16 // 1 IPv4, 2 IPv6, 0 only with prefix 0
	SourcePrefix uint8
	ScopePrefix  uint8
	// Addr is the address as sent (not masked); invalid for family 0.
	Addr netip.Addr
}

// Message is the decoded view of one DNS message. Parse overwrites every
// field; reuse one Message per goroutine.
type Message struct {
	ID uint16

	QR     bool // response
	Opcode uint8
	AA     bool
	TC     bool
	RD     bool
	RA     bool
	Z      bool
	AD     bool
	CD     bool
	Rcode  uint8 // the 4-bit header rcode; see FullRcode

	QDCount, ANCount, NSCount, ARCount uint16 // as in the header

	// HasQuestion reports whether a first question was present (QName,
	// QType and QClass are only meaningful then).
	HasQuestion bool
	QType       uint16
	QClass      uint16
	qnameLen    int
	qname       [MaxNamePresentationLen]byte

	EDNS EDNS
	ECS  ClientSubnet

	// Answers counts the answer records actually present.
	Answers int
	// HasRRSIG reports whether any answer record is an RRSIG.
	HasRRSIG bool
}

// QNameBytes returns the first question's name (see the package doc for
// its form). The slice aliases m and changes on the next Parse.
func (m *Message) QNameBytes() []byte { return m.qname[:m.qnameLen] }

// QNameString returns a copy of the first question's name. It allocates;
// keep it off the per-packet path.
func (m *Message) QNameString() string { return string(m.qname[:m.qnameLen]) }

// FullRcode combines the header rcode with the OPT extended rcode bits.
func (m *Message) FullRcode() uint16 { return uint16(m.EDNS.ExtRcode)<<4 | uint16(m.Rcode) }

// reset clears every field but leaves the name buffer's bytes alone: a
// whole-struct assignment would copy and clear 1 KiB per packet.
func (m *Message) reset() {
	m.ID, m.Opcode, m.Rcode = 0, 0, 0
	m.QR, m.AA, m.TC, m.RD, m.RA, m.Z, m.AD, m.CD = false, false, false, false, false, false, false, false
	m.QDCount, m.ANCount, m.NSCount, m.ARCount = 0, 0, 0, 0
	m.HasQuestion, m.QType, m.QClass, m.qnameLen = false, 0, 0, 0
	m.EDNS = EDNS{}
	m.ECS = ClientSubnet{}
	m.Answers, m.HasRRSIG = 0, false
}

// Parse decodes msg into m. It reads the header, the first question in full,
// walks every other question and record by their framing, decodes the first
// OPT record of the additional section, and notes RRSIGs among answers. It
// never panics and allocates nothing; on error m holds what was decoded
// before the failure.
func Parse(msg []byte, m *Message) error {
	m.reset()
	if len(msg) < headerLen {
		return errAt(kindTruncated, SectionHeader)
	}
	m.ID = binary.BigEndian.Uint16(msg[0:])
	f := binary.BigEndian.Uint16(msg[2:])
	m.QR = f&0x8000 != 0
	m.Opcode = uint8(f>>11) & 0xF
	m.AA = f&0x0400 != 0
	m.TC = f&0x0200 != 0
	m.RD = f&0x0100 != 0
	m.RA = f&0x0080 != 0
	m.Z = f&0x0040 != 0
	m.AD = f&0x0020 != 0
	m.CD = f&0x0010 != 0
	m.Rcode = uint8(f & 0xF)
	m.QDCount = binary.BigEndian.Uint16(msg[4:])
	m.ANCount = binary.BigEndian.Uint16(msg[6:])
	m.NSCount = binary.BigEndian.Uint16(msg[8:])
	m.ARCount = binary.BigEndian.Uint16(msg[10:])

	off := headerLen
	for i := 0; i < int(m.QDCount); i++ {
		if off == len(msg) {
			return nil // counts overstate; see package doc
		}
		var err error
		if i == 0 {
			var n int
			n, off, err = readName(&m.qname, msg, off, SectionQuestion)
			if err != nil {
				return err
			}
			m.qnameLen = n
		} else if off, err = skipName(msg, off, SectionQuestion); err != nil {
			return err
		}
		if off+4 > len(msg) {
			return errAt(kindTruncated, SectionQuestion)
		}
		if i == 0 {
			m.QType = binary.BigEndian.Uint16(msg[off:])
			m.QClass = binary.BigEndian.Uint16(msg[off+2:])
			m.HasQuestion = true
		}
		off += 4
	}

	counts := [3]uint16{m.ANCount, m.NSCount, m.ARCount}
	for si, count := range counts {
		sec := SectionAnswer + Section(si)
		for i := 0; i < int(count); i++ {
			if off == len(msg) {
				return nil
			}
			var err error
			if off, err = skipName(msg, off, sec); err != nil {
				return err
			}
			if off+10 > len(msg) {
				return errAt(kindTruncated, sec)
			}
			typ := binary.BigEndian.Uint16(msg[off:])
			class := binary.BigEndian.Uint16(msg[off+2:])
			ttl := binary.BigEndian.Uint32(msg[off+4:])
			rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
			off += 10
			if off+rdlen > len(msg) {
				return errAt(kindTruncated, sec)
			}
			switch sec {
			case SectionAnswer:
				m.Answers++
				if typ == TypeRRSIG {
					m.HasRRSIG = true
				}
			case SectionAdditional:
				if typ == TypeOPT && !m.EDNS.Present {
					if err := m.parseOPT(class, ttl, msg[off:off+rdlen]); err != nil {
						return err
					}
				}
			}
			off += rdlen
		}
	}
	return nil
}

func (m *Message) parseOPT(class uint16, ttl uint32, rdata []byte) error {
	m.EDNS = EDNS{
		Present:  true,
		UDPSize:  class,
		ExtRcode: uint8(ttl >> 24),
		Version:  uint8(ttl >> 16),
		DO:       ttl&0x8000 != 0,
	}
	for o := 0; o < len(rdata); {
		if o+4 > len(rdata) {
			return errAt(kindMalformed, SectionAdditional)
		}
		code := binary.BigEndian.Uint16(rdata[o:])
		olen := int(binary.BigEndian.Uint16(rdata[o+2:]))
		o += 4
		if o+olen > len(rdata) {
			return errAt(kindMalformed, SectionAdditional)
		}
		if code == OptionECS && !m.ECS.Present {
			if err := m.parseECS(rdata[o : o+olen]); err != nil {
				return err
			}
		}
		o += olen
	}
	return nil
}

func (m *Message) parseECS(b []byte) error {
	if len(b) < 4 {
		return errAt(kindMalformed, SectionAdditional)
	}
	ecs := ClientSubnet{
		Present:      true,
		Family:       binary.BigEndian.Uint16(b),
		SourcePrefix: b[2],
		ScopePrefix:  b[3],
	}
	addr := b[4:]
	switch ecs.Family {
	case 0:
		if ecs.SourcePrefix != 0 {
			return errAt(kindMalformed, SectionAdditional)
		}
	case 1:
		if ecs.SourcePrefix > 32 || ecs.ScopePrefix > 32 {
			return errAt(kindMalformed, SectionAdditional)
		}
		var a [4]byte
		copy(a[:], addr)
		ecs.Addr = netip.AddrFrom4(a)
	case 2:
		if ecs.SourcePrefix > 128 || ecs.ScopePrefix > 128 {
			return errAt(kindMalformed, SectionAdditional)
		}
		var a [16]byte
		copy(a[:], addr)
		ecs.Addr = netip.AddrFrom16(a)
	default:
		return errAt(kindMalformed, SectionAdditional)
	}
	m.ECS = ecs
	return nil
}
