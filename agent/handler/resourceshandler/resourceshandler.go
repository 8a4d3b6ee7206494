// Package resourceshandler implements pktvisor's input_resources handler:
// the CPU and memory the agent spends, sampled at most every 5 seconds as
// an input's events arrive, and how many policies and handlers use the
// input. The control plane attaches one to every input through the
// automatic "<input>-resources" policy and tells it the counts through
// SetCounts.
//
// CPU attribution: pktvisor reads the CPU time of the thread that delivers
// the input's events. Go schedules goroutines over any thread, so a
// per-input figure would need each input to lock its goroutine to a thread;
// this handler reports the whole process's CPU instead (utime+stime from
// /proc/self/stat over the total jiffies of /proc/stat, ×100 — the share of
// all CPUs, as pktvisor's formula gives for one thread). Every input's
// resources policy therefore shows the same process-wide CPU and memory.
package resourceshandler

import (
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/sketches"
)

const schema = "input_resources"

// SampleEvery is the minimum time between samples, as pktvisor's.
const SampleEvery = 5 * time.Second

// Counter is what the control plane calls when policies come and go on the
// handler's input (a chained/sequence policy counts as one handler).
type Counter interface {
	SetCounts(policies, handlers int)
}

// Sampler is implemented by the handler for inputs whose events are not
// packets (dnstap, flow): the input calls Observe with the wall clock.
type Sampler interface {
	Observe(ts time.Time)
}

type bucket struct {
	base               window.Base
	cpu, mem           *sketches.Quantile
	policies, handlers uint64
	clock              window.RateClock
}

func newBucket() *bucket {
	c, _ := sketches.NewQuantile(0.01)
	m, _ := sketches.NewQuantile(0.01)
	b := &bucket{base: window.NewBase(), cpu: c, mem: m}
	b.clock = window.NewRateClock(b.base.EventRate)
	return b
}

// Merge sums events and samples, but keeps the newest bucket's policy and
// handler counts (they are levels, not sums) — pktvisor's rule; the window
// merges the newest bucket first.
func (b *bucket) Merge(o *bucket) {
	first := b.base.Events == 0 && b.cpu.Empty() && b.policies == 0 && b.handlers == 0
	b.base.Merge(&o.base)
	_ = b.cpu.Merge(o.cpu)
	_ = b.mem.Merge(o.mem)
	if first {
		b.policies, b.handlers = o.policies, o.handlers
	}
}

func (b *bucket) Reset() {
	b.base.Reset()
	b.cpu.Reset()
	b.mem.Reset()
	b.policies, b.handlers = 0, 0
	b.clock.Reset()
}

func (b *bucket) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucket) Close(time.Time)   { b.clock.Close() }

// Handler is the input_resources handler.
type Handler struct {
	handler.Windowed[*bucket]
	common  handler.Common
	sampler window.Sampler
	mgr     *window.Manager[*bucket]
	read    func() (Usage, error)

	policies, handlers atomic.Int64

	// Guarded by mgr's lock.
	last     time.Time
	prev     Usage
	havePrev bool
	errors   uint64
}

var (
	_ handler.Handler        = (*Handler)(nil)
	_ handler.PacketConsumer = (*Handler)(nil)
	_ handler.Ticker         = (*Handler)(nil)
	_ handler.Bounded        = (*Handler)(nil)
	_ Counter                = (*Handler)(nil)
	_ Sampler                = (*Handler)(nil)
)

// New builds an input_resources handler. Like pktvisor's it validates no
// keys.
func New(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	return NewWithReader(name, cfg, readProc)
}

// NewWithReader is New with the resource reading injected (tests).
func NewWithReader(name string, cfg handler.Config, read func() (Usage, error)) (*Handler, error) {
	c, err := handler.ParseCommon(name, cfg)
	if err != nil {
		return nil, err
	}
	h := &Handler{common: c, sampler: window.NewSampler(c.SampleRate), mgr: window.New(newBucket, c.WindowOptions()), read: read}
	h.mgr.OnShift(func(_, live *bucket, _ time.Time) {
		live.policies, live.handlers = uint64(h.policies.Load()), uint64(h.handlers.Load())
	})
	h.Windowed = handler.NewWindowed(handler.Module{Type: "input_resources", Version: "1.0", Schema: schema}, c, nil, h.mgr)
	return h, nil
}

// SetCounts sets the policy and handler counts (floored at 0).
func (h *Handler) SetCounts(policies, handlers int) {
	policies, handlers = max(policies, 0), max(handlers, 0)
	h.policies.Store(int64(policies))
	h.handlers.Store(int64(handlers))
	h.mgr.Lock()
	// A zero time never rotates buckets (recorded streams rotate by packet time).
	b := h.mgr.Live(time.Time{})
	b.policies, b.handlers = uint64(policies), uint64(handlers)
	h.mgr.Unlock()
}

// HandlePacket samples by packet time.
func (h *Handler) HandlePacket(p *decode.Packet) { h.Observe(p.Timestamp) }

// Observe records an input event at ts and samples if SampleEvery passed.
func (h *Handler) Observe(ts time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	b.base.NewEvent(ts, h.sampler.Next())
	if !h.last.IsZero() && ts.Sub(h.last) < SampleEvery {
		return
	}
	h.last = ts
	u, err := h.read()
	if err != nil {
		h.errors++
		return
	}
	if h.havePrev && u.TotalJiffies > h.prev.TotalJiffies {
		var pct float64
		if u.ProcJiffies > h.prev.ProcJiffies {
			pct = 100 * float64(u.ProcJiffies-h.prev.ProcJiffies) / float64(u.TotalJiffies-h.prev.TotalJiffies)
		}
		b.cpu.Add(pct)
	}
	h.prev, h.havePrev = u, true
	b.mem.Add(float64(u.RSSBytes))
}

var (
	nCPU      = metrics.Name{Path: []string{"cpu_usage"}, Prom: "resources_cpu_usage", Help: "Total CPU usage of the agent process (all inputs), percent of all CPUs", Float: true}
	nMem      = metrics.N("resources", "Total resident memory of the agent process in bytes", "memory_bytes")
	nPolicies = metrics.N("resources", "Total number of policies loaded on the input", "policy_count")
	nHandlers = metrics.N("resources", "Total number of handlers attached to the input", "handler_count")
	nEvents   = metrics.N("base", "Total number of events", "total")
	nDeep     = metrics.N("base", "Total number of deep samples", "deep_samples")
	nRate     = metrics.N("base", "Rate of events per second", "event_rate")
)

func (h *Handler) write(b *bucket, w metrics.Writer, sp window.Span) {
	w.Quantile(nCPU, b.cpu)
	w.Quantile(nMem, b.mem)
	w.Counter(nPolicies, b.policies)
	w.Counter(nHandlers, b.handlers)
	w.Counter(nEvents, b.base.Events)
	w.Counter(nDeep, b.base.DeepSamples)
	w.Rate(nRate, b.base.EventRate, sp.Live && !h.common.Recorded)
}

// WriteBucket writes bucket p.
func (h *Handler) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucket, sp window.Span) { h.write(b, w, sp) })
}

// WriteWindow writes the merged window of p buckets.
func (h *Handler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucket, sp window.Span) { h.write(b, w, sp) })
}
