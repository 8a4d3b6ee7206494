// Package bgphandler implements pktvisor's bgp handler (schema "bgp"):
// counts of BGP messages by type on TCP port 179, from the input's TCP
// reassembly.
//
// Unlike pktvisor, which parses each reassembled data chunk as a single
// message (compat quirk 8), every message in the stream is counted: a
// segment carrying an UPDATE and a KEEPALIVE counts both, and a message split
// across segments counts once. Per connection the handler keeps two
// decode/bgp Framers (at most 19 buffered bytes each) and the table of
// connections is capped at MaxConns.
package bgphandler

import (
	"net/netip"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode/bgp"
	"github.com/visorng/visor/sketches"
)

const schema = "bgp"

// Port is BGP's TCP port.
const Port = 179

// MaxConns bounds the connections tracked at once; beyond it new
// connections are not counted (Stats.ConnsDropped) until others close.
const MaxConns = 1 << 14

var configKeys = []string{"recorded_stream"}

type bucket struct {
	base                                  window.Base
	open, update, notification, keepalive uint64
	routeRefresh, total, filtered         uint64
	rateTotal                             *sketches.Rate
	clock                                 window.RateClock
}

func newBucket() *bucket {
	b := &bucket{base: window.NewBase(), rateTotal: sketches.NewRate()}
	b.clock = window.NewRateClock(b.base.EventRate, b.rateTotal)
	return b
}

func (b *bucket) Merge(o *bucket) {
	b.base.Merge(&o.base)
	b.open += o.open
	b.update += o.update
	b.notification += o.notification
	b.keepalive += o.keepalive
	b.routeRefresh += o.routeRefresh
	b.total += o.total
	b.filtered += o.filtered
	_ = b.rateTotal.Merge(o.rateTotal)
}

func (b *bucket) Reset() {
	b.base.Reset()
	b.open, b.update, b.notification, b.keepalive = 0, 0, 0, 0
	b.routeRefresh, b.total, b.filtered = 0, 0, 0
	b.clock.Reset()
}

func (b *bucket) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucket) Close(time.Time)   { b.clock.Close() }

// conn is the framing state of one connection; side 0 is the endpoint that
// sent the first data seen.
type conn struct {
	first  netip.AddrPort
	framer [2]bgp.Framer
}

// Stats are the handler's own counters (not in pktvisor's schema).
type Stats struct {
	Messages     uint64 // messages counted
	UnknownType  uint64 // well-framed messages of a type outside 1..5
	BadStreams   uint64 // directions abandoned after a bad marker or length
	ConnsDropped uint64 // connections not tracked because MaxConns was reached
}

// Handler is the bgp handler.
type Handler struct {
	handler.Windowed[*bucket]
	common  handler.Common
	sampler window.Sampler
	mgr     *window.Manager[*bucket]

	// Guarded by mgr's lock.
	conns map[uint64]*conn
	free  []*conn
	ts    time.Time
	emit  func(bgp.Header)
	stats Stats
}

var (
	_ handler.Handler     = (*Handler)(nil)
	_ handler.TCPConsumer = (*Handler)(nil)
	_ handler.Ticker      = (*Handler)(nil)
	_ handler.Bounded     = (*Handler)(nil)
)

// New builds a bgp handler.
func New(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	c, _, err := handler.ParseModule(name, cfg, configKeys, nil, nil)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		common:  c,
		sampler: window.NewSampler(c.SampleRate),
		mgr:     window.New(newBucket, c.WindowOptions()),
		conns:   make(map[uint64]*conn),
	}
	// One method value, made once, so per-message emission allocates
	// nothing.
	h.emit = h.message
	h.Windowed = handler.NewWindowed(handler.Module{Type: "bgp", Version: "1.0", Schema: schema}, c, nil, h.mgr)
	return h, nil
}

// Stats returns the handler's own counters.
func (h *Handler) Stats() Stats {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	return h.stats
}

// WantTCP selects connections with port 179 on either side.
func (h *Handler) WantTCP(src, dst uint16) bool { return src == Port || dst == Port }

// TCPData frames the stream bytes and counts each message.
func (h *Handler) TCPData(d *handler.TCPData) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	src := netip.AddrPortFrom(d.Src, d.SrcPort)
	c, ok := h.conns[d.Conn]
	if !ok {
		if len(h.conns) >= MaxConns {
			h.stats.ConnsDropped++
			return
		}
		if n := len(h.free); n > 0 {
			c, h.free = h.free[n-1], h.free[:n-1]
		} else {
			c = new(conn)
		}
		c.first = src
		h.conns[d.Conn] = c
	}
	side := 0
	if src != c.first {
		side = 1
	}
	f := &c.framer[side]
	if f.Err() != nil {
		return
	}
	h.ts = d.Timestamp
	f.Feed(d.Data, h.emit)
	if f.Err() != nil {
		h.stats.BadStreams++
	}
}

// message counts one framed message (mgr's lock is held).
func (h *Handler) message(m bgp.Header) {
	ts := h.ts
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	b.base.NewEvent(ts, h.sampler.Next())
	h.stats.Messages++
	b.total++
	b.rateTotal.Add(ts, 1)
	switch m.Type {
	case bgp.Open:
		b.open++
	case bgp.Update:
		b.update++
	case bgp.Notification:
		b.notification++
	case bgp.Keepalive:
		b.keepalive++
	case bgp.RouteRefresh:
		b.routeRefresh++
	default:
		h.stats.UnknownType++
	}
}

// TCPClose forgets the connection's framing state.
func (h *Handler) TCPClose(id uint64, _ time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	if c, ok := h.conns[id]; ok {
		delete(h.conns, id)
		c.framer[0].Reset()
		c.framer[1].Reset()
		if len(h.free) < 256 {
			h.free = append(h.free, c)
		}
	}
}

var (
	nEvents       = metrics.N(schema, "Total BGP events generated", "wire_packets", "events")
	nDeep         = metrics.N(schema, "Total BGP events that were sampled for deep processing", "wire_packets", "deep_samples")
	nRateEvents   = metrics.N(schema, "Rate of all BGP events (before filtering)", "rates", "events")
	nRateTotal    = metrics.N(schema, "Rate of all BGP messages per second", "rates", "total")
	nOpen         = metrics.N(schema, "Total BGP messages with message type OPEN", "wire_packets", "open")
	nUpdate       = metrics.N(schema, "Total BGP messages with message type UPDATE", "wire_packets", "update")
	nNotification = metrics.N(schema, "Total BGP messages with message type NOTIFICATION", "wire_packets", "notification")
	nKeepalive    = metrics.N(schema, "Total BGP messages with message type KEEPALIVE", "wire_packets", "keepalive")
	nRouteRefresh = metrics.N(schema, "Total BGP messages with message type ROUTE-REFRESH", "wire_packets", "routerefresh")
	nTotal        = metrics.N(schema, "Total BGP messages", "wire_packets", "total")
	nFiltered     = metrics.N(schema, "Total BGP messages that did not match the configured filter(s) (if any)", "wire_packets", "filtered")
)

func (h *Handler) write(b *bucket, w metrics.Writer, sp window.Span) {
	live := sp.Live && !h.common.Recorded
	w.Counter(nEvents, b.base.Events)
	w.Counter(nDeep, b.base.DeepSamples)
	w.Rate(nRateEvents, b.base.EventRate, live)
	w.Rate(nRateTotal, b.rateTotal, live)
	w.Counter(nOpen, b.open)
	w.Counter(nUpdate, b.update)
	w.Counter(nNotification, b.notification)
	w.Counter(nKeepalive, b.keepalive)
	w.Counter(nRouteRefresh, b.routeRefresh)
	w.Counter(nTotal, b.total)
	w.Counter(nFiltered, b.filtered)
}

// WriteBucket writes bucket p.
func (h *Handler) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucket, sp window.Span) { h.write(b, w, sp) })
}

// WriteWindow writes the merged window of p buckets.
func (h *Handler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucket, sp window.Span) { h.write(b, w, sp) })
}
