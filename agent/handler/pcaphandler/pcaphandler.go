// Package pcaphandler implements pktvisor's pcap handler: capture-level
// health per bucket (TCP reassembly errors, OS and interface drops), plus
// the drop counters this agent adds for its own capture paths.
package pcaphandler

import (
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

const schema = "pcap"

type bucket struct {
	tcpErrors uint64
	osDrops   uint64
	ifDrops   uint64
	// baseline is the first cumulative sample seen in this bucket; drops
	// are increases over it, as pktvisor computes them.
	haveBase       bool
	baseOS, baseIf uint64
	lastOS, lastIf uint64
	filtered       uint64
	baseFiltered   uint64
	lastFiltered   uint64
}

func newBucket() *bucket { return &bucket{} }

func (b *bucket) Merge(o *bucket) {
	b.tcpErrors += o.tcpErrors
	b.osDrops += o.osDrops
	b.ifDrops += o.ifDrops
	b.filtered += o.filtered
}

func (b *bucket) Reset()          { *b = bucket{} }
func (b *bucket) Tick(time.Time)  {}
func (b *bucket) Close(time.Time) {}

func (b *bucket) sample(s capture.Stats) {
	if !b.haveBase {
		b.haveBase = true
		b.baseOS, b.baseIf, b.baseFiltered = s.OSDrops, s.IfDrops, s.Filtered
	}
	b.lastOS, b.lastIf, b.lastFiltered = s.OSDrops, s.IfDrops, s.Filtered
	b.osDrops = sub(b.lastOS, b.baseOS)
	b.ifDrops = sub(b.lastIf, b.baseIf)
	b.filtered = sub(b.lastFiltered, b.baseFiltered)
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// Handler is the pcap handler.
type Handler struct {
	handler.Windowed[*bucket]
	common handler.Common
	mgr    *window.Manager[*bucket]
	// prev carries the last cumulative stats so a new bucket's baseline is
	// the previous bucket's last sample and no drop falls between buckets.
	prev    capture.Stats
	hasPrev bool
}

var (
	_ handler.Handler              = (*Handler)(nil)
	_ handler.CaptureStatsConsumer = (*Handler)(nil)
	_ handler.TCPErrorConsumer     = (*Handler)(nil)
)

// New builds a pcap handler.
func New(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	c, _, err := handler.ParseModule(name, cfg, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	h := &Handler{common: c, mgr: window.New(newBucket, c.WindowOptions())}
	h.mgr.OnShift(func(_, live *bucket, _ time.Time) {
		if h.hasPrev {
			live.sample(h.prev)
		}
	})
	h.Windowed = handler.NewWindowed(handler.Module{Type: "pcap", Version: "1.0", Schema: schema}, c, nil, h.mgr)
	return h, nil
}

// CaptureStats takes a cumulative sample from the capture source.
func (h *Handler) CaptureStats(s capture.Stats, ts time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	b := h.mgr.Live(ts)
	if !b.haveBase && h.hasPrev {
		b.sample(h.prev)
	}
	b.sample(s)
	h.prev, h.hasPrev = s, true
}

// TCPReassemblyError counts a packet the reassembler rejected.
func (h *Handler) TCPReassemblyError(ts time.Time) {
	h.mgr.Lock()
	h.mgr.Live(ts).tcpErrors++
	h.mgr.Unlock()
}

var (
	nTCPErrors = metrics.N(schema, "Count of TCP packets that failed reassembly", "tcp_reassembly_errors")
	nOSDrops   = metrics.N(schema, "Count of packets dropped by the operating system (ring full, socket overrun)", "os_drops")
	nIfDrops   = metrics.N(schema, "Count of packets dropped by the interface", "if_drops")
)

func (h *Handler) write(b *bucket, w metrics.Writer) {
	w.Counter(nTCPErrors, b.tcpErrors)
	w.Counter(nOSDrops, b.osDrops)
	w.Counter(nIfDrops, b.ifDrops)
}

// WriteBucket writes bucket p.
func (h *Handler) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucket, sp window.Span) { h.write(b, w) })
}

// WriteWindow writes the merged window of p buckets.
func (h *Handler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucket, sp window.Span) { h.write(b, w) })
}
