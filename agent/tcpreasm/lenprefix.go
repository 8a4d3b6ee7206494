package tcpreasm

import (
	"encoding/binary"
	"errors"
	"time"
)

// MessageHandler receives the messages LenPrefixed cuts out of a stream.
type MessageHandler interface {
	// Message gets one complete message without its length prefix. The
	// slice is only valid during the call.
	Message(c *Conn, side Side, msg []byte, ts time.Time)
	// Closed is forwarded from the Reassembler after partial messages
	// were dropped.
	Closed(c *Conn, reason CloseReason, ts time.Time)
}

// LenPrefixConfig bounds a LenPrefixed. Zero fields take the defaults.
type LenPrefixConfig struct {
	// MinLen is the smallest acceptable message; a shorter length prefix
	// means the stream is not what we think it is, and that side is
	// abandoned. Default 12, the DNS header size. (pktvisor uses 17, which
	// also throws away valid header-only DNS replies.)
	MinLen int
	// MaxBufferedBytes bounds the partial messages held across all
	// connections; a side that would exceed it is abandoned. Default 64 MiB.
	MaxBufferedBytes int
}

// LenPrefixStats are cumulative counters.
type LenPrefixStats struct {
	Messages        uint64
	InvalidStreams  uint64 // sides abandoned for a length below MinLen
	GapStreams      uint64 // sides abandoned after reassembly skipped bytes
	OverflowStreams uint64 // sides abandoned for MaxBufferedBytes
	AbandonedBytes  uint64 // bytes of partial messages dropped
	BufferedNow     int    // gauge: bytes of partial messages held
}

// LenPrefixed frames 2-byte big-endian length-prefixed messages (DNS over
// TCP, RFC 1035 §4.2.2) on top of a Reassembler: it is the Reassembler's
// Handler and calls a MessageHandler once per complete message. Messages
// wholly inside one Data call are passed on without copying; only a
// message split across segments is accumulated, in a pooled buffer of at
// most 65537 bytes per side. Conn.State stays free for the MessageHandler.
//
// After a gap in the stream a side is abandoned: with a 2-byte framing
// there is no way to find the next message boundary again.
type LenPrefixed struct {
	next  MessageHandler
	cfg   LenPrefixConfig
	pool  bufPool
	stats LenPrefixStats
}

var (
	_ Handler    = (*LenPrefixed)(nil)
	_ GapHandler = (*LenPrefixed)(nil)
)

// lpSide is LenPrefixed's per-side state, kept inside Conn so that framing
// needs no lookup and no allocation per connection.
type lpSide struct {
	buf     []byte // a partial message, prefix included
	invalid bool
}

// DefaultMinLen is the DNS header length.
const DefaultMinLen = 12

// NewLenPrefixed returns a framer feeding next.
func NewLenPrefixed(cfg LenPrefixConfig, next MessageHandler) (*LenPrefixed, error) {
	if next == nil {
		return nil, errors.New("tcpreasm: nil message handler")
	}
	if cfg.MinLen < 0 || cfg.MinLen > 0xFFFF || cfg.MaxBufferedBytes < 0 {
		return nil, errors.New("tcpreasm: bad length-prefix limits")
	}
	if cfg.MinLen == 0 {
		cfg.MinLen = DefaultMinLen
	}
	if cfg.MaxBufferedBytes == 0 {
		cfg.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	return &LenPrefixed{next: next, cfg: cfg}, nil
}

// Stats returns a snapshot of the counters.
func (l *LenPrefixed) Stats() LenPrefixStats {
	s := l.stats
	s.BufferedNow = l.pool.held
	return s
}

// Data implements Handler.
func (l *LenPrefixed) Data(c *Conn, side Side, data []byte, ts time.Time) {
	s := &c.lp[side]
	if s.invalid {
		return
	}
	if len(s.buf) > 0 {
		var done bool
		if data, done = l.complete(c, side, s, data, ts); !done {
			return
		}
	}
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		if n < l.cfg.MinLen {
			l.invalidate(s, &l.stats.InvalidStreams)
			return
		}
		if 2+n > len(data) {
			break
		}
		l.stats.Messages++
		l.next.Message(c, side, data[2:2+n], ts)
		data = data[2+n:]
	}
	if len(data) == 0 {
		return
	}
	// Stash the start of a split message, sized for the whole of it when
	// the prefix is known so it never grows.
	want := 2
	if len(data) >= 2 {
		want += int(binary.BigEndian.Uint16(data))
	}
	if l.pool.held+l.pool.cost(want) > l.cfg.MaxBufferedBytes {
		l.invalidate(s, &l.stats.OverflowStreams)
		return
	}
	s.buf = append(l.pool.get(want)[:0], data...)
}

// complete feeds the pending partial message; it returns the rest of data
// and whether a message was finished (false: data was used up or the side
// was abandoned).
func (l *LenPrefixed) complete(c *Conn, side Side, s *lpSide, data []byte, ts time.Time) ([]byte, bool) {
	if len(s.buf) < 2 { // only one byte of the prefix so far
		if len(data) == 0 {
			return nil, false
		}
		hi := s.buf[0]
		n := int(hi)<<8 | int(data[0])
		if n < l.cfg.MinLen {
			l.invalidate(s, &l.stats.InvalidStreams)
			return nil, false
		}
		data = data[1:]
		l.release(s)
		if l.pool.held+l.pool.cost(2+n) > l.cfg.MaxBufferedBytes {
			l.invalidate(s, &l.stats.OverflowStreams)
			return nil, false
		}
		s.buf = append(l.pool.get(2 + n)[:0], hi, byte(n))
	}
	total := 2 + int(binary.BigEndian.Uint16(s.buf))
	take := min(total-len(s.buf), len(data))
	s.buf = append(s.buf, data[:take]...)
	data = data[take:]
	if len(s.buf) < total {
		return nil, false
	}
	l.stats.Messages++
	l.next.Message(c, side, s.buf[2:total], ts)
	l.release(s)
	return data, true
}

func (l *LenPrefixed) release(s *lpSide) {
	if s.buf != nil {
		l.pool.put(s.buf)
		s.buf = nil
	}
}

func (l *LenPrefixed) invalidate(s *lpSide, counter *uint64) {
	*counter++
	if s.buf != nil {
		l.stats.AbandonedBytes += uint64(len(s.buf))
		l.release(s)
	}
	s.invalid = true
}

// Gap implements GapHandler: the side cannot be framed any more.
func (l *LenPrefixed) Gap(c *Conn, side Side, _ uint32, _ time.Time) {
	s := &c.lp[side]
	if !s.invalid {
		l.invalidate(s, &l.stats.GapStreams)
	}
}

// Closed implements Handler.
func (l *LenPrefixed) Closed(c *Conn, reason CloseReason, ts time.Time) {
	for i := range c.lp {
		s := &c.lp[i]
		if s.buf != nil {
			l.stats.AbandonedBytes += uint64(len(s.buf))
			l.release(s)
		}
		*s = lpSide{}
	}
	l.next.Closed(c, reason, ts)
}
