package dnshandler

import (
	"net/netip"

	"github.com/visorng/visor/agent/handler"
)

// minTCPMessage is the smallest believable DNS-over-TCP message (a header;
// pktvisor used 17): a shorter length prefix marks the side's stream as not DNS and
// stops parsing it.
const minTCPMessage = 12

// maxTCPConns bounds the connections one handler frames at once. The
// reassembler bounds connections too and closes what it evicts; this guards
// a handler against a reassembler configured larger than its memory budget.
const maxTCPConns = 1 << 16

type tcpSide struct {
	used    bool
	src     netip.Addr
	srcPort uint16
	buf     []byte
	invalid bool
}

type tcpConn struct{ sides [2]tcpSide }

// tcpStreams splits reassembled DNS-over-TCP byte streams into messages at
// their 2-byte length prefixes, per connection side. Complete messages are
// handed over in place when the side has nothing buffered, so the common
// case (whole messages per segment) copies nothing.
type tcpStreams struct {
	conns   map[uint64]*tcpConn
	free    []*tcpConn
	deliver func(d *handler.TCPData, msg []byte)

	dropped uint64 // data of connections not tracked (table full)
	invalid uint64 // sides abandoned on a bad length prefix
}

func newTCPStreams(deliver func(d *handler.TCPData, msg []byte)) *tcpStreams {
	return &tcpStreams{conns: map[uint64]*tcpConn{}, deliver: deliver}
}

func (s *tcpStreams) data(d *handler.TCPData) {
	c := s.conns[d.Conn]
	if c == nil {
		if len(s.conns) >= maxTCPConns {
			s.dropped++
			return
		}
		if n := len(s.free); n > 0 {
			c, s.free = s.free[n-1], s.free[:n-1]
		} else {
			c = &tcpConn{}
		}
		s.conns[d.Conn] = c
	}
	var sd *tcpSide
	switch {
	case !c.sides[0].used:
		sd = &c.sides[0]
		sd.used, sd.src, sd.srcPort = true, d.Src, d.SrcPort
	case c.sides[0].src == d.Src && c.sides[0].srcPort == d.SrcPort:
		sd = &c.sides[0]
	default:
		sd = &c.sides[1]
		sd.used = true
	}
	if sd.invalid {
		return
	}
	data := d.Data
	if len(sd.buf) > 0 {
		sd.buf = append(sd.buf, data...)
		data = sd.buf
	}
	for len(data) >= 2 {
		n := lenPrefix(data)
		if n < minTCPMessage {
			sd.invalid = true
			sd.buf = sd.buf[:0]
			s.invalid++
			return
		}
		if len(data) < 2+n {
			break
		}
		s.deliver(d, data[2:2+n])
		data = data[2+n:]
	}
	// Keep the partial message; copy (within or into buf) only that.
	sd.buf = append(sd.buf[:0], data...)
}

func (s *tcpStreams) close(conn uint64) {
	c := s.conns[conn]
	if c == nil {
		return
	}
	delete(s.conns, conn)
	for i := range c.sides {
		b := c.sides[i].buf[:0]
		if cap(b) > 4096 {
			b = nil
		}
		c.sides[i] = tcpSide{buf: b}
	}
	if len(s.free) < 256 {
		s.free = append(s.free, c)
	}
}
