package agent

import (
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
)

// ResourceCounter is implemented by input_resources handlers: the agent
// tells them how many policies and handlers use their input.
type ResourceCounter interface {
	SetCounts(policies, handlers int)
}

const resourcesType = "input_resources"

// placeholderResources stands in for the input_resources handler until the
// real one (CPU and memory sampling) is in the handler table: it keeps the
// <input>-resources policy, its handler name and its policy/handler
// counters, so policy listings match pktvisor's.
type placeholderResources struct {
	common   handler.Common
	mgr      *window.Manager[*resBucket]
	policies atomic.Int64
	handlers atomic.Int64
}

type resBucket struct {
	base               window.Base
	policies, handlers uint64
}

func newResBucket() *resBucket { return &resBucket{base: window.NewBase()} }

// Merge keeps the newest bucket's counts, as pktvisor's resources handler
// does (they are levels, not sums).
func (b *resBucket) Merge(o *resBucket) {
	b.base.Merge(&o.base)
	if b.policies == 0 && b.handlers == 0 {
		b.policies, b.handlers = o.policies, o.handlers
	}
}
func (b *resBucket) Reset()            { b.base.Reset(); b.policies, b.handlers = 0, 0 }
func (b *resBucket) Tick(ts time.Time) {}
func (b *resBucket) Close(time.Time)   {}

var (
	_ handler.Handler        = (*placeholderResources)(nil)
	_ handler.PacketConsumer = (*placeholderResources)(nil)
	_ ResourceCounter        = (*placeholderResources)(nil)
)

func newPlaceholderResources(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	c, err := handler.ParseCommon(name, cfg)
	if err != nil {
		return nil, err
	}
	h := &placeholderResources{common: c, mgr: window.New(newResBucket, c.WindowOptions())}
	h.mgr.OnShift(func(_, live *resBucket, _ time.Time) {
		live.policies, live.handlers = uint64(h.policies.Load()), uint64(h.handlers.Load())
	})
	return h, nil
}

func (h *placeholderResources) Name() string    { return h.common.Name }
func (h *placeholderResources) Type() string    { return resourcesType }
func (h *placeholderResources) Version() string { return "1.0" }
func (h *placeholderResources) Schema() string  { return resourcesType }
func (h *placeholderResources) Periods() int    { return h.mgr.Periods() }
func (h *placeholderResources) Emits() bool     { return true }
func (h *placeholderResources) Tick(ts time.Time) {
	h.mgr.Lock()
	h.mgr.Tick(ts)
	h.mgr.Unlock()
}

func (h *placeholderResources) SetCounts(policies, handlers int) {
	h.policies.Store(int64(policies))
	h.handlers.Store(int64(handlers))
	h.mgr.Lock()
	b := h.mgr.Live(time.Time{})
	b.policies, b.handlers = uint64(policies), uint64(handlers)
	h.mgr.Unlock()
}

func (h *placeholderResources) HandlePacket(p *decode.Packet) {
	h.mgr.Lock()
	h.mgr.Live(p.Timestamp).base.NewEvent(p.Timestamp, true)
	h.mgr.Unlock()
}

var (
	nResPolicies = metrics.N("resources", "Total number of policies loaded on the input", "policy_count")
	nResHandlers = metrics.N("resources", "Total number of handlers attached to the input", "handler_count")
	nResEvents   = metrics.N("base", "Total number of events", "total")
	nResDeep     = metrics.N("base", "Total number of deep samples", "deep_samples")
	nResRate     = metrics.N("base", "Rate of events per second", "event_rate")
)

func (h *placeholderResources) write(b *resBucket, w metrics.Writer, sp window.Span) {
	w.Counter(nResPolicies, b.policies)
	w.Counter(nResHandlers, b.handlers)
	w.Counter(nResEvents, b.base.Events)
	w.Counter(nResDeep, b.base.DeepSamples)
	w.Rate(nResRate, b.base.EventRate, sp.Live && !h.common.Recorded)
}

func (h *placeholderResources) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	var span window.Span
	err := h.mgr.WriteBucket(p, func(b *resBucket, sp window.Span) {
		span = sp
		h.write(b, w, sp)
	})
	return span, err
}

func (h *placeholderResources) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	b, sp, err := h.mgr.Window(p)
	if err != nil {
		return sp, err
	}
	h.write(b, w, sp)
	return sp, nil
}
