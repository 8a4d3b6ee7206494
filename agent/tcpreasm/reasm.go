// Package tcpreasm reassembles TCP streams for protocols carried in
// length-prefixed messages (DNS over TCP, BGP) with bounded memory.
//
// A Reassembler consumes decoded TCP packets and hands each side's in-order
// bytes to a Handler. Segments at the expected sequence number are passed
// through without copying; only out-of-order segments are copied, into
// pooled buffers, up to a per-connection and a global byte limit, beyond
// which the hole in front of them is skipped and counted. Connections end on
// FIN from both sides, RST, idle timeout (by packet timestamps), LRU eviction
// when MaxConns is reached, or Flush. pktvisor's reassembler kept every flow
// until FIN/RST or its LRU limit and buffered without bound; this one is
// bounded by MaxConns × MaxBufferedBytesPerConn and MaxBufferedBytes.
//
// Roles: the sender of a SYN (without ACK) is the client, the sender of a
// SYN-ACK the server. When the handshake was not seen (capture started
// mid-stream) the endpoint with the lower port is taken as the server — the
// usual shape of DNS (53), BGP (179) and most services talking to ephemeral
// ports; with equal ports the sender of the first packet is the client.
//
// A Reassembler is not safe for concurrent use, and handlers must not call
// back into it.
package tcpreasm

import (
	"errors"
	"net/netip"
	"time"

	"github.com/visorng/visor/decode"
)

// Side is one direction of a connection, named after its sender.
type Side uint8

const (
	SideClient Side = iota // bytes sent by the client
	SideServer             // bytes sent by the server
)

func (s Side) String() string {
	if s == SideServer {
		return "server"
	}
	return "client"
}

// CloseReason says why a connection ended.
type CloseReason uint8

const (
	CloseFIN     CloseReason = iota // both sides sent FIN
	CloseRST                        // either side sent RST
	CloseIdle                       // no packet for IdleTimeout
	CloseEvicted                    // least recently used when MaxConns was reached
	CloseFlush                      // Flush (end of a capture file, shutdown)
	numCloseReasons
)

func (r CloseReason) String() string {
	switch r {
	case CloseFIN:
		return "fin"
	case CloseRST:
		return "rst"
	case CloseIdle:
		return "idle"
	case CloseEvicted:
		return "evicted"
	case CloseFlush:
		return "flush"
	}
	return "unknown"
}

// Handler receives reassembled streams.
type Handler interface {
	// Data gets in-order bytes of one side of a connection. The slice is
	// only valid during the call.
	Data(c *Conn, side Side, data []byte, ts time.Time)
	// Closed is the last call for c; c must not be used after it returns.
	// Pending out-of-order bytes were delivered (after Gap calls) before it.
	Closed(c *Conn, reason CloseReason, ts time.Time)
}

// GapHandler is implemented by handlers that want to know when bytes were
// skipped: the Data that follows does not continue the previous Data.
type GapHandler interface {
	Gap(c *Conn, side Side, skipped uint32, ts time.Time)
}

// Conn is one tracked connection.
type Conn struct {
	Client, Server netip.AddrPort
	L3             decode.L3
	// FirstDir is the direction of the packet that opened the connection.
	FirstDir decode.Direction
	// Handshake reports whether roles come from a SYN or SYN-ACK rather
	// than the port heuristic.
	Handshake bool
	// State is free for the handler (e.g. a per-connection parser). It is
	// cleared after Closed.
	State any

	key      connKey
	half     [2]half
	buffered int // out-of-order bytes held for this connection
	lastSeen time.Time
	prev     *Conn // LRU list: towards most recently used
	next     *Conn // towards least recently used
	closed   bool  // a tombstone, kept to ignore late packets of the flow
	lp       [2]lpSide
}

type half struct {
	started bool
	next    uint32 // next expected sequence number
	fin     bool
	ooo     []segment // out-of-order segments, ascending by seq
}

type segment struct {
	seq  uint32
	data []byte // pooled
}

type connKey struct{ a, b netip.AddrPort }

func makeKey(x, y netip.AddrPort) connKey {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return connKey{x, y}
}

// Config bounds the reassembler. Zero fields take the defaults.
type Config struct {
	// MaxConns bounds tracked connections (closed ones linger as small
	// tombstones until idle and count too). Default 300000, pktvisor's
	// tcp_packet_reassembly_cache_limit default.
	MaxConns int
	// MaxBufferedBytesPerConn bounds out-of-order bytes held per
	// connection. Default 64 KiB.
	MaxBufferedBytesPerConn int
	// MaxBufferedBytes bounds out-of-order bytes held in total. Default
	// 64 MiB.
	MaxBufferedBytes int
	// IdleTimeout closes connections without packets for this long,
	// measured in packet timestamps. Default 30 s, as pktvisor.
	IdleTimeout time.Duration
}

const (
	DefaultMaxConns                = 300000
	DefaultMaxBufferedBytesPerConn = 64 << 10
	DefaultMaxBufferedBytes        = 64 << 20
	DefaultIdleTimeout             = 30 * time.Second

	// expirePerPacket bounds the idle connections closed after each packet,
	// as pktvisor does (100), so one packet never pays for a mass expiry.
	expirePerPacket = 100
	// maxFreeConns bounds the recycled Conn structs kept.
	maxFreeConns = 1024
)

// Stats are cumulative counters, except the gauges marked so.
type Stats struct {
	ConnsOpened   uint64
	ClosedFIN     uint64
	ClosedRST     uint64
	ClosedIdle    uint64
	ClosedEvicted uint64
	ClosedFlush   uint64
	OpenConns     int // gauge: connections not yet closed
	TrackedConns  int // gauge: table size, closed tombstones included

	BytesDelivered     uint64
	SegmentsBuffered   uint64 // out-of-order segments copied aside
	BytesBuffered      uint64
	BufferedBytesNow   int    // gauge
	GapsSkipped        uint64 // holes given up on
	GapBytes           uint64 // sequence space skipped over
	RetransmitsIgnored uint64 // segments carrying only bytes already delivered
	OverlapBytes       uint64 // already-delivered bytes trimmed from segments
	SegmentsRejected   uint64 // not TCP over IP
	SegmentsIgnored    uint64 // no payload and no SYN for an unknown flow, or late packets of a closed one
}

// Closed returns the number of connections closed for reason.
func (s *Stats) Closed(reason CloseReason) uint64 {
	switch reason {
	case CloseFIN:
		return s.ClosedFIN
	case CloseRST:
		return s.ClosedRST
	case CloseIdle:
		return s.ClosedIdle
	case CloseEvicted:
		return s.ClosedEvicted
	case CloseFlush:
		return s.ClosedFlush
	}
	return 0
}

// Reassembler tracks TCP connections. Create with New.
type Reassembler struct {
	cfg   Config
	h     Handler
	gh    GapHandler // nil when h does not implement it
	conns map[connKey]*Conn
	head  *Conn // most recently used
	tail  *Conn // least recently used
	free  []*Conn
	pool  bufPool
	stats Stats
}

// New validates cfg, fills defaults and returns a Reassembler feeding h.
func New(cfg Config, h Handler) (*Reassembler, error) {
	if h == nil {
		return nil, errors.New("tcpreasm: nil handler")
	}
	if cfg.MaxConns < 0 || cfg.MaxBufferedBytesPerConn < 0 || cfg.MaxBufferedBytes < 0 || cfg.IdleTimeout < 0 {
		return nil, errors.New("tcpreasm: negative limit")
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxBufferedBytesPerConn == 0 {
		cfg.MaxBufferedBytesPerConn = DefaultMaxBufferedBytesPerConn
	}
	if cfg.MaxBufferedBytes == 0 {
		cfg.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	r := &Reassembler{cfg: cfg, h: h, conns: make(map[connKey]*Conn)}
	r.gh, _ = h.(GapHandler)
	return r, nil
}

// Config returns the effective configuration.
func (r *Reassembler) Config() Config { return r.cfg }

// Stats returns a snapshot of the counters.
func (r *Reassembler) Stats() Stats {
	s := r.stats
	s.TrackedConns = len(r.conns)
	s.BufferedBytesNow = r.pool.held
	return s
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

// Add feeds one decoded packet. Packets that are not TCP over IP are
// counted as rejected; everything else is accounted in Stats.
func (r *Reassembler) Add(p *decode.Packet) {
	if p.L4 != decode.L4TCP || !p.Src.IsValid() || !p.Dst.IsValid() {
		r.stats.SegmentsRejected++
		return
	}
	ts := p.Timestamp
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	key := makeKey(src, dst)
	syn := p.TCPFlags&decode.TCPSyn != 0
	ack := p.TCPFlags&decode.TCPAck != 0
	fin := p.TCPFlags&decode.TCPFin != 0
	rst := p.TCPFlags&decode.TCPRst != 0

	c := r.conns[key]
	if c != nil && c.closed {
		if syn && !ack && !rst {
			r.remove(c) // the 4-tuple is reused by a new connection
			c = nil
		} else {
			r.stats.SegmentsIgnored++
			r.expire(ts, expirePerPacket)
			return
		}
	}
	if c == nil {
		if rst || (!syn && len(p.Payload) == 0) {
			r.stats.SegmentsIgnored++
			r.expire(ts, expirePerPacket)
			return
		}
		c = r.open(p, src, dst, key, syn, ack)
	}
	r.touch(c, ts)
	side := SideClient
	if src != c.Client {
		side = SideServer
	}
	if rst {
		r.close(c, CloseRST, ts)
		r.expire(ts, expirePerPacket)
		return
	}
	h := &c.half[side]
	seq := p.TCPSeq
	if syn {
		seq++ // the SYN occupies one sequence number; data follows it
		if !h.started {
			h.started = true
			h.next = seq
		}
	}
	if len(p.Payload) > 0 {
		r.segment(c, side, seq, p.Payload, ts)
	}
	if fin {
		h.fin = true
		if c.half[0].fin && c.half[1].fin {
			r.close(c, CloseFIN, ts)
		}
	}
	r.expire(ts, expirePerPacket)
}

func (r *Reassembler) open(p *decode.Packet, src, dst netip.AddrPort, key connKey, syn, ack bool) *Conn {
	if len(r.conns) >= r.cfg.MaxConns {
		r.evictOldest(p.Timestamp)
	}
	var c *Conn
	if n := len(r.free); n > 0 {
		c = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		c = new(Conn)
	}
	client, server := src, dst
	switch {
	case syn && ack:
		client, server = dst, src
	case syn:
	case src.Port() < dst.Port():
		client, server = dst, src
	}
	c.Client, c.Server = client, server
	c.L3 = p.L3
	c.FirstDir = p.Dir
	c.Handshake = syn
	c.key = key
	r.conns[key] = c
	r.pushFront(c)
	r.stats.ConnsOpened++
	r.stats.OpenConns++
	return c
}

// segment places payload bytes starting at seq on one side.
func (r *Reassembler) segment(c *Conn, side Side, seq uint32, data []byte, ts time.Time) {
	h := &c.half[side]
	if !h.started {
		// Mid-stream start: accept from the first segment seen.
		h.started = true
		h.next = seq
	}
	if seq == h.next { // the common case: no copy, no allocation
		r.deliver(c, side, data, ts)
		if len(h.ooo) > 0 {
			r.drain(c, side, ts)
		}
		return
	}
	if seqLT(seq, h.next) {
		end := seq + uint32(len(data))
		if !seqLT(h.next, end) {
			r.stats.RetransmitsIgnored++
			return
		}
		skip := h.next - seq
		r.stats.OverlapBytes += uint64(skip)
		r.deliver(c, side, data[skip:], ts)
		if len(h.ooo) > 0 {
			r.drain(c, side, ts)
		}
		return
	}
	r.bufferSegment(c, side, seq, data, ts)
}

func (r *Reassembler) deliver(c *Conn, side Side, data []byte, ts time.Time) {
	c.half[side].next += uint32(len(data))
	r.stats.BytesDelivered += uint64(len(data))
	r.h.Data(c, side, data, ts)
}

// bufferSegment copies a segment that arrived ahead of a hole. When the
// limits do not allow it, holes are given up on, oldest first.
func (r *Reassembler) bufferSegment(c *Conn, side Side, seq uint32, data []byte, ts time.Time) {
	h := &c.half[side]
	for c.buffered+len(data) > r.cfg.MaxBufferedBytesPerConn || r.pool.held+r.pool.cost(len(data)) > r.cfg.MaxBufferedBytes {
		if len(h.ooo) == 0 {
			// Nothing of ours to give up: skip straight to this segment.
			r.skipTo(c, side, seq, ts)
			r.deliver(c, side, data, ts)
			return
		}
		r.skipTo(c, side, h.ooo[0].seq, ts)
		r.drain(c, side, ts)
		if !seqLT(h.next, seq) {
			// The hole closed up to (or past) this segment.
			r.segment(c, side, seq, data, ts)
			return
		}
	}
	// Insert in order; an exact duplicate of a buffered segment is dropped.
	i := len(h.ooo)
	for i > 0 && seqLT(seq, h.ooo[i-1].seq) {
		i--
	}
	if i > 0 && h.ooo[i-1].seq == seq && len(h.ooo[i-1].data) >= len(data) {
		r.stats.RetransmitsIgnored++
		return
	}
	buf := r.pool.get(len(data))
	copy(buf, data)
	h.ooo = append(h.ooo, segment{})
	copy(h.ooo[i+1:], h.ooo[i:])
	h.ooo[i] = segment{seq: seq, data: buf}
	c.buffered += len(data)
	r.stats.SegmentsBuffered++
	r.stats.BytesBuffered += uint64(len(data))
}

// skipTo gives up on the bytes between the expected sequence and seq.
func (r *Reassembler) skipTo(c *Conn, side Side, seq uint32, ts time.Time) {
	h := &c.half[side]
	gap := seq - h.next
	r.stats.GapsSkipped++
	r.stats.GapBytes += uint64(gap)
	h.next = seq
	if r.gh != nil {
		r.gh.Gap(c, side, gap, ts)
	}
}

// drain delivers buffered segments that have become in order.
func (r *Reassembler) drain(c *Conn, side Side, ts time.Time) {
	h := &c.half[side]
	for len(h.ooo) > 0 && !seqLT(h.next, h.ooo[0].seq) {
		s := h.ooo[0]
		copy(h.ooo, h.ooo[1:])
		h.ooo[len(h.ooo)-1] = segment{}
		h.ooo = h.ooo[:len(h.ooo)-1]
		end := s.seq + uint32(len(s.data))
		if seqLT(h.next, end) {
			skip := h.next - s.seq
			r.stats.OverlapBytes += uint64(skip)
			r.deliver(c, side, s.data[skip:], ts)
		} else {
			r.stats.RetransmitsIgnored++
		}
		c.buffered -= len(s.data)
		r.pool.put(s.data)
	}
}

// close ends c: pending out-of-order data is delivered across its holes,
// then the handler is told. The connection stays as a tombstone (ignoring
// late packets) unless it is removed by the caller.
func (r *Reassembler) close(c *Conn, reason CloseReason, ts time.Time) {
	if c.closed {
		return
	}
	for side := SideClient; side <= SideServer; side++ {
		for len(c.half[side].ooo) > 0 {
			r.skipTo(c, side, c.half[side].ooo[0].seq, ts)
			r.drain(c, side, ts)
		}
	}
	c.closed = true
	r.stats.OpenConns--
	switch reason {
	case CloseFIN:
		r.stats.ClosedFIN++
	case CloseRST:
		r.stats.ClosedRST++
	case CloseIdle:
		r.stats.ClosedIdle++
	case CloseEvicted:
		r.stats.ClosedEvicted++
	case CloseFlush:
		r.stats.ClosedFlush++
	}
	r.h.Closed(c, reason, ts)
	c.State = nil
}

// remove drops c from the table and recycles it.
func (r *Reassembler) remove(c *Conn) {
	delete(r.conns, c.key)
	r.unlink(c)
	for i := range c.half {
		for _, s := range c.half[i].ooo {
			r.pool.put(s.data)
		}
	}
	ooo0, ooo1 := c.half[0].ooo[:0], c.half[1].ooo[:0]
	*c = Conn{}
	c.half[0].ooo, c.half[1].ooo = ooo0, ooo1
	if len(r.free) < maxFreeConns {
		r.free = append(r.free, c)
	}
}

func (r *Reassembler) evictOldest(ts time.Time) {
	c := r.tail
	if c == nil {
		return
	}
	if !c.closed {
		r.close(c, CloseEvicted, ts)
	}
	r.remove(c)
}

// expire closes and drops up to limit connections idle for IdleTimeout at
// now, least recently used first.
func (r *Reassembler) expire(now time.Time, limit int) {
	for i := 0; i < limit; i++ {
		c := r.tail
		if c == nil || now.Sub(c.lastSeen) < r.cfg.IdleTimeout {
			return
		}
		if !c.closed {
			r.close(c, CloseIdle, now)
		}
		r.remove(c)
	}
}

// Expire closes every connection idle at now; call it on a heartbeat when
// packets may stop arriving.
func (r *Reassembler) Expire(now time.Time) { r.expire(now, len(r.conns)) }

// Flush closes every open connection (reason CloseFlush) and empties the
// table, as at the end of a capture file.
func (r *Reassembler) Flush(ts time.Time) {
	for r.tail != nil {
		c := r.tail
		if !c.closed {
			r.close(c, CloseFlush, ts)
		}
		r.remove(c)
	}
}

// LRU list maintenance.

func (r *Reassembler) touch(c *Conn, ts time.Time) {
	if ts.After(c.lastSeen) {
		c.lastSeen = ts
	}
	if r.head == c {
		return
	}
	r.unlink(c)
	r.pushFront(c)
}

func (r *Reassembler) pushFront(c *Conn) {
	c.prev, c.next = nil, r.head
	if r.head != nil {
		r.head.prev = c
	}
	r.head = c
	if r.tail == nil {
		r.tail = c
	}
}

func (r *Reassembler) unlink(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if r.head == c {
		r.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if r.tail == c {
		r.tail = c.prev
	}
	c.prev, c.next = nil, nil
}
