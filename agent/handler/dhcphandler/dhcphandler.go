// Package dhcphandler implements pktvisor's dhcp handler (schema "dhcp"):
// DHCPv4 and DHCPv6 message counters, the DHCPv4 message rate, the clients
// that completed a REQUEST→ACK exchange and the servers that answered.
//
// DHCPv6 and pktvisor's total (compat quirk 7): pktvisor's total and
// rates.total count DHCPv4 messages only, while DHCPv6 messages still count
// as events. We keep that, so dashboards built on pktvisor read the same
// numbers, and add wire_packets.total_v6 (Prometheus
// dhcp_wire_packets_total_v6) counting every DHCPv6 message, so DHCPv6
// traffic is visible without subtracting events.
package dhcphandler

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/decode/dhcp"
	"github.com/visorng/visor/sketches"
)

const schema = "dhcp"

// configKeys are the handler's own keys (the window keys are common).
var configKeys = []string{"recorded_stream", "xact_ttl_secs", "xact_ttl_ms"}

// DefaultTTL is how long a REQUEST waits for its ACK, as pktvisor's.
const DefaultTTL = 5 * time.Second

// MaxTransactions bounds the REQUESTs waiting for an ACK. When full, expired
// ones are purged; if none are, the new REQUEST is not tracked (and counted
// in Stats.XactDropped).
const MaxTransactions = 1 << 16

type bucket struct {
	base window.Base

	discover, offer, request, ack        uint64
	solicit, advertise, requestV6, reply uint64
	total, totalV6, filtered             uint64
	rateTotal                            *sketches.Rate
	clients, servers                     *sketches.StringTopK
	clock                                window.RateClock
}

func newBucket() *bucket {
	c, _ := sketches.NewStringTopK(handler.TopKCapacity)
	s, _ := sketches.NewStringTopK(handler.TopKCapacity)
	b := &bucket{base: window.NewBase(), rateTotal: sketches.NewRate(), clients: c, servers: s}
	b.clock = window.NewRateClock(b.base.EventRate, b.rateTotal)
	return b
}

func (b *bucket) Merge(o *bucket) {
	b.base.Merge(&o.base)
	b.discover += o.discover
	b.offer += o.offer
	b.request += o.request
	b.ack += o.ack
	b.solicit += o.solicit
	b.advertise += o.advertise
	b.requestV6 += o.requestV6
	b.reply += o.reply
	b.total += o.total
	b.totalV6 += o.totalV6
	b.filtered += o.filtered
	_ = b.rateTotal.Merge(o.rateTotal)
	b.clients.Merge(o.clients)
	b.servers.Merge(o.servers)
}

func (b *bucket) Reset() {
	b.base.Reset()
	b.discover, b.offer, b.request, b.ack = 0, 0, 0, 0
	b.solicit, b.advertise, b.requestV6, b.reply = 0, 0, 0, 0
	b.total, b.totalV6, b.filtered = 0, 0, 0
	b.clock.Reset()
	b.clients.Reset()
	b.servers.Reset()
}

func (b *bucket) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucket) Close(time.Time)   { b.clock.Close() }

// xact is a REQUEST waiting for its ACK. The host name is kept in a fixed
// array so tracking a request does not allocate per packet.
type xact struct {
	start   time.Time
	mac     [6]byte
	nameLen uint8
	hasName bool
	name    [255]byte
}

// Stats are the handler's own counters (not part of pktvisor's schema).
type Stats struct {
	XactDropped uint64 // REQUESTs not tracked because the table was full
	XactTimeout uint64 // ACKs that came after the TTL
	Malformed   uint64 // messages whose options were cut short
}

// Handler is the dhcp handler.
type Handler struct {
	handler.Windowed[*bucket]
	common  handler.Common
	sampler window.Sampler
	mgr     *window.Manager[*bucket]
	ttl     time.Duration

	// Guarded by mgr's lock.
	xacts   map[uint32]*xact
	free    []*xact
	v4      dhcp.V4
	v6      dhcp.V6
	scratch []byte
	stats   Stats
}

var (
	_ handler.Handler        = (*Handler)(nil)
	_ handler.PacketConsumer = (*Handler)(nil)
	_ handler.Ticker         = (*Handler)(nil)
	_ handler.Bounded        = (*Handler)(nil)
)

// New builds a dhcp handler.
func New(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	c, _, err := handler.ParseModule(name, cfg, configKeys, nil, nil)
	if err != nil {
		return nil, err
	}
	ttl := DefaultTTL
	// pktvisor: xact_ttl_ms wins over xact_ttl_secs.
	if cfg.Has("xact_ttl_ms") {
		ms, err := cfg.Uint("xact_ttl_ms", 0)
		if err != nil {
			return nil, err
		}
		ttl = time.Duration(ms) * time.Millisecond
	} else if cfg.Has("xact_ttl_secs") {
		s, err := cfg.Uint("xact_ttl_secs", 0)
		if err != nil {
			return nil, err
		}
		ttl = time.Duration(s) * time.Second
	}
	h := &Handler{
		common:  c,
		sampler: window.NewSampler(c.SampleRate),
		mgr:     window.New(newBucket, c.WindowOptions()),
		ttl:     ttl,
		xacts:   make(map[uint32]*xact),
		scratch: make([]byte, 0, 512),
	}
	h.mgr.OnShift(func(_, _ *bucket, ts time.Time) { h.purge(ts) })
	h.Windowed = handler.NewWindowed(handler.Module{Type: "dhcp", Version: "1.0", Schema: schema}, c, nil, h.mgr)
	return h, nil
}

// Stats returns the handler's own counters.
func (h *Handler) Stats() Stats {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	return h.stats
}

// HandlePacket accounts a DHCP message carried in UDP.
func (h *Handler) HandlePacket(p *decode.Packet) {
	if p.L4 != decode.L4UDP {
		return
	}
	switch {
	case dhcp.IsV4Port(p.SrcPort, p.DstPort):
		h.mgr.Lock()
		h.handleV4(p)
		h.mgr.Unlock()
	case dhcp.IsV6Port(p.SrcPort, p.DstPort):
		h.mgr.Lock()
		h.handleV6(p)
		h.mgr.Unlock()
	}
}

func (h *Handler) handleV4(p *decode.Packet) {
	ts := p.Timestamp
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	deep := h.sampler.Next()
	b.base.NewEvent(ts, deep)
	m := &h.v4
	if err := dhcp.ParseV4(p.Payload, m); err != nil {
		h.stats.Malformed++
	}
	b.total++
	b.rateTotal.Add(ts, 1)
	switch m.MsgType {
	case dhcp.Discover:
		b.discover++
	case dhcp.Offer:
		b.offer++
		if deep && m.HasServerID && p.HasSrcMAC {
			k := appendMAC(h.scratch[:0], p.SrcMAC)
			k = append(k, '/')
			k = appendIPv4(k, m.ServerID)
			b.servers.AddBytes(k, 1)
			h.scratch = k
		}
	case dhcp.Request:
		b.request++
		h.startXact(m, ts)
	case dhcp.Ack:
		b.ack++
		h.endXact(b, deep, m, ts)
	}
}

func (h *Handler) startXact(m *dhcp.V4, ts time.Time) {
	x, ok := h.xacts[m.XID]
	if !ok {
		if len(h.xacts) >= MaxTransactions {
			h.purge(ts)
			if len(h.xacts) >= MaxTransactions {
				h.stats.XactDropped++
				return
			}
		}
		if n := len(h.free); n > 0 {
			x, h.free = h.free[n-1], h.free[:n-1]
		} else {
			x = new(xact)
		}
		h.xacts[m.XID] = x
	}
	// A repeated REQUEST restarts the transaction, as pktvisor's map
	// insert does.
	x.start, x.mac, x.hasName = ts, m.CHAddr, m.HasHostname
	x.nameLen = uint8(copy(x.name[:], m.Hostname))
}

func (h *Handler) endXact(b *bucket, deep bool, m *dhcp.V4, ts time.Time) {
	x, ok := h.xacts[m.XID]
	if !ok {
		return
	}
	delete(h.xacts, m.XID)
	h.free = append(h.free, x)
	if ts.Sub(x.start) > h.ttl {
		h.stats.XactTimeout++
		return
	}
	if !deep || m.YIAddr == [4]byte{} {
		return
	}
	k := appendMAC(h.scratch[:0], x.mac)
	k = append(k, '/')
	if x.hasName {
		k = append(k, x.name[:x.nameLen]...)
	} else {
		k = append(k, "Unknown"...)
	}
	k = append(k, '/')
	k = appendIPv4(k, m.YIAddr)
	b.clients.AddBytes(k, 1)
	h.scratch = k
}

// purge drops transactions older than the TTL (at period shifts and when
// the table is full).
func (h *Handler) purge(now time.Time) {
	for id, x := range h.xacts {
		if now.Sub(x.start) > h.ttl {
			delete(h.xacts, id)
			if len(h.free) < 1024 {
				h.free = append(h.free, x)
			}
		}
	}
}

func (h *Handler) handleV6(p *decode.Packet) {
	ts := p.Timestamp
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	deep := h.sampler.Next()
	b.base.NewEvent(ts, deep)
	m := &h.v6
	if err := dhcp.ParseV6(p.Payload, m); err != nil {
		h.stats.Malformed++
	}
	b.totalV6++
	switch m.MsgType {
	case dhcp.Solicit:
		b.solicit++
	case dhcp.Advertise:
		b.advertise++
	case dhcp.RequestV6:
		b.requestV6++
	case dhcp.Reply:
		b.reply++
	}
	if !deep || (m.MsgType != dhcp.Reply && m.MsgType != dhcp.Advertise) || !m.HasServerID {
		return
	}
	if !p.HasSrcMAC || !p.Src.Is6() || p.Src == netip.IPv6Unspecified() {
		return
	}
	k := appendMAC(h.scratch[:0], p.SrcMAC)
	k = append(k, '/')
	k = p.Src.AppendTo(k)
	b.servers.AddBytes(k, 1)
	h.scratch = k
}

const hexDigits = "0123456789abcdef"

// appendMAC writes aa:bb:cc:dd:ee:ff (lower case, as pktvisor prints it).
func appendMAC(b []byte, mac [6]byte) []byte {
	for i, x := range mac {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return b
}

func appendIPv4(b []byte, a [4]byte) []byte {
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(x), 10)
	}
	return b
}

var (
	nEvents    = metrics.N(schema, "Total DHCP events generated", "wire_packets", "events")
	nDeep      = metrics.N(schema, "Total DHCP events that were sampled for deep processing", "wire_packets", "deep_samples")
	nRateEv    = metrics.N(schema, "Rate of all DHCP events (before filtering)", "rates", "events")
	nRateTotal = metrics.N(schema, "Rate of all DHCPv4 messages per second", "rates", "total")
	nDiscover  = metrics.N(schema, "Total DHCP packets with message type DISCOVER", "wire_packets", "discover")
	nOffer     = metrics.N(schema, "Total DHCP packets with message type OFFER", "wire_packets", "offer")
	nRequest   = metrics.N(schema, "Total DHCP packets with message type REQUEST", "wire_packets", "request")
	nAck       = metrics.N(schema, "Total DHCP packets with message type ACK", "wire_packets", "ack")
	nSolicit   = metrics.N(schema, "Total DHCPv6 packets with message type SOLICIT", "wire_packets", "solicit")
	nAdvertise = metrics.N(schema, "Total DHCPv6 packets with message type ADVERTISE", "wire_packets", "advertise")
	nRequestV6 = metrics.N(schema, "Total DHCPv6 packets with message type REQUEST", "wire_packets", "request_v6")
	nReply     = metrics.N(schema, "Total DHCPv6 packets with message type REPLY", "wire_packets", "reply")
	nTotal     = metrics.N(schema, "Total DHCPv4 packets (DHCPv6 is counted in total_v6)", "wire_packets", "total")
	nTotalV6   = metrics.N(schema, "Total DHCPv6 packets", "wire_packets", "total_v6")
	nFiltered  = metrics.N(schema, "Total DHCP packets that did not match the configured filter(s) (if any)", "wire_packets", "filtered")
	nClients   = metrics.N(schema, "Top DHCP clients (MAC/hostname/assigned IP) from REQUEST/ACK exchanges", "top_clients")
	nServers   = metrics.N(schema, "Top DHCP servers (MAC/address) that answered", "top_servers")
)

func (h *Handler) write(b *bucket, w metrics.Writer, sp window.Span) {
	live := sp.Live && !h.common.Recorded
	w.Counter(nEvents, b.base.Events)
	w.Counter(nDeep, b.base.DeepSamples)
	w.Rate(nRateEv, b.base.EventRate, live)
	w.Rate(nRateTotal, b.rateTotal, live)
	w.Counter(nDiscover, b.discover)
	w.Counter(nOffer, b.offer)
	w.Counter(nRequest, b.request)
	w.Counter(nAck, b.ack)
	w.Counter(nSolicit, b.solicit)
	w.Counter(nAdvertise, b.advertise)
	w.Counter(nRequestV6, b.requestV6)
	w.Counter(nReply, b.reply)
	w.Counter(nTotal, b.total)
	w.Counter(nTotalV6, b.totalV6)
	w.Counter(nFiltered, b.filtered)
	ident := func(s string) string { return s }
	w.TopN(nClients, "client", handler.Rows(h.common, b.clients.Top(h.common.TopN, nil), ident))
	w.TopN(nServers, "server", handler.Rows(h.common, b.servers.Top(h.common.TopN, nil), ident))
}

// WriteBucket writes bucket p.
func (h *Handler) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucket, sp window.Span) { h.write(b, w, sp) })
}

// WriteWindow writes the merged window of p buckets.
func (h *Handler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucket, sp window.Span) { h.write(b, w, sp) })
}
