// Package bgp frames BGP-4 messages (RFC 4271) in a TCP byte stream: it
// checks the 16-byte marker, reads the length and the type, and counts every
// message, however the stream was cut into segments.
//
// pktvisor parses each reassembled TCP data chunk as one BGP message, so a
// segment carrying an UPDATE and a KEEPALIVE counts once (compat quirk 8).
// A Framer fixes that: it walks every message header in the stream and keeps
// at most one partial header (19 bytes) per direction, never the message
// bodies, so its memory is constant whatever the peers send.
package bgp

import "errors"

// Sentinel errors; test with errors.Is.
var (
	ErrTruncated = errors.New("bgp: truncated header")
	ErrMarker    = errors.New("bgp: bad marker")
	ErrLength    = errors.New("bgp: bad length")
)

// HeaderLen is the fixed header: marker (16), length (2), type (1).
const HeaderLen = 19

// MaxLen is the largest message a header can describe. RFC 4271 caps
// messages at 4096 bytes; RFC 8654 extended messages reach 65535 once both
// speakers agree, which a passive observer cannot always see, so the framer
// accepts the larger bound.
const MaxLen = 65535

// Type is a BGP message type.
type Type uint8

const (
	Open         Type = 1
	Update       Type = 2
	Notification Type = 3
	Keepalive    Type = 4
	RouteRefresh Type = 5
)

func (t Type) String() string {
	switch t {
	case Open:
		return "open"
	case Update:
		return "update"
	case Notification:
		return "notification"
	case Keepalive:
		return "keepalive"
	case RouteRefresh:
		return "routerefresh"
	}
	return "unknown"
}

// Header is a decoded message header.
type Header struct {
	Length uint16 // whole message, header included
	Type   Type
}

// ParseHeader decodes the header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrTruncated
	}
	for _, x := range b[:16] {
		if x != 0xff {
			return Header{}, ErrMarker
		}
	}
	h := Header{Length: uint16(b[16])<<8 | uint16(b[17]), Type: Type(b[18])}
	if h.Length < HeaderLen {
		return h, ErrLength
	}
	return h, nil
}

// Framer finds message boundaries in one direction of a TCP stream. The
// zero value is ready; it is not safe for concurrent use.
type Framer struct {
	hdr  [HeaderLen]byte
	have int // bytes of hdr filled
	skip int // body bytes of the current message still to pass
	err  error
}

// Err reports why the framer stopped (a bad marker or length). After an
// error it ignores the rest of the stream: without the marker there is no
// safe place to resume.
func (f *Framer) Err() error { return f.err }

// Reset prepares f for a new stream.
func (f *Framer) Reset() { *f = Framer{} }

// Feed consumes the next bytes of the stream and calls emit once for every
// message whose header completes in data. emit must not retain anything.
// It returns the number of messages emitted.
func (f *Framer) Feed(data []byte, emit func(Header)) int {
	n := 0
	for len(data) > 0 && f.err == nil {
		if f.skip > 0 {
			k := min(f.skip, len(data))
			f.skip -= k
			data = data[k:]
			continue
		}
		var hb []byte
		if f.have == 0 && len(data) >= HeaderLen {
			// The common case: the whole header is in this chunk.
			hb, data = data[:HeaderLen], data[HeaderLen:]
		} else {
			k := copy(f.hdr[f.have:], data)
			f.have += k
			data = data[k:]
			if f.have < HeaderLen {
				return n
			}
			hb, f.have = f.hdr[:], 0
		}
		h, err := ParseHeader(hb)
		if err != nil {
			f.err = err
			return n
		}
		f.skip = int(h.Length) - HeaderLen
		emit(h)
		n++
	}
	return n
}
