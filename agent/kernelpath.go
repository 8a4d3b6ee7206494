package agent

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
)

// rateSetter is what the XDP and TC sources offer to change the share of
// flows the kernel passes to user space while capturing.
type rateSetter interface {
	SetSampleRate(percent int) error
}

// kernelPath splits the work on kernel-counting sources (xdp, tc): handlers
// that can take their counters from the kernel (handler.KernelCounted) get
// exact deltas of its counts, and the kernel passes user space only the
// share of flows the attached handlers need.
//
// The kernel sample rate is the largest share any attached handler needs,
// so no handler is starved: handler.DeepSampler says what a handler needs
// (the net handler: its deep_sample_rate, since its counters come from the
// kernel; the resources handler: nothing), and every other handler that
// consumes packets or TCP streams (dns, dhcp, bgp, a chained policy) is
// taken to need every packet, because pktvisor counts those on every
// packet and only samples the deep metrics. So the kernel samples only
// when every packet consumer on the input is content with a sample, e.g.
// a policy of net handlers with deep_sample_rate 10; pktvisor's per-handler
// deep sampling then applies, rescaled, to the frames that arrive.
type kernelPath struct {
	src rateSetter

	mu       sync.Mutex
	handlers []handler.Handler
	cur      int // kernel sample rate in effect

	// consumers are the handlers that accepted kernel counting; read by
	// the input goroutine on every delta.
	consumers atomic.Pointer[[]handler.KernelCountsConsumer]
	deltas    input.KernelDeltas // input goroutine only
}

func newKernelPath(src rateSetter) *kernelPath {
	k := &kernelPath{src: src, cur: 100}
	k.consumers.Store(&[]handler.KernelCountsConsumer{})
	return k
}

// needs is the share of packets (percent) h needs in user space.
func needs(h handler.Handler) int {
	if d, ok := h.(handler.DeepSampler); ok {
		return max(0, min(d.DeepSampleRate(), 100))
	}
	_, pc := h.(handler.PacketConsumer)
	_, tc := h.(handler.TCPConsumer)
	if pc || tc {
		return 100
	}
	return 0
}

// kernelRate is the rate the kernel must sample at for hs: the largest
// need, and 100 when no handler says (nothing to save then).
func kernelRate(hs []handler.Handler) int {
	r := 0
	for _, h := range hs {
		r = max(r, needs(h))
	}
	if r == 0 {
		return 100
	}
	return r
}

func (k *kernelPath) attach(h handler.Handler) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.handlers = append(k.handlers, h)
	return k.update()
}

func (k *kernelPath) detach(h handler.Handler) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.handlers = slices.DeleteFunc(k.handlers, func(x handler.Handler) bool { return x == h })
	return k.update()
}

// update sets the kernel rate for the attached handlers and tells every
// kernel-counted handler the rate, so each rescales its own deep sampling.
// When the rate goes up the kernel changes first; when it goes down, the
// handlers do, so no handler ever samples a smaller share than it wants.
func (k *kernelPath) update() error {
	rate := kernelRate(k.handlers)
	var err error
	if rate > k.cur {
		err = k.src.SetSampleRate(rate)
	}
	cs := []handler.KernelCountsConsumer{}
	for _, h := range k.handlers {
		kc, ok := h.(handler.KernelCounted)
		if !ok || !kc.CountFromKernel(rate) {
			continue
		}
		if c, ok := h.(handler.KernelCountsConsumer); ok {
			cs = append(cs, c)
		}
	}
	k.consumers.Store(&cs)
	if rate < k.cur {
		err = k.src.SetSampleRate(rate)
	}
	if err == nil {
		k.cur = rate
	}
	return err
}

func (k *kernelPath) rate() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// deliver hands the change of the cumulative counters since the previous
// call to every kernel-counted handler. Input goroutine only.
func (k *kernelPath) deliver(cur *capture.KernelCounters, ts time.Time) {
	d := k.deltas.Next(cur)
	for _, c := range *k.consumers.Load() {
		c.KernelCounts(&d, ts)
	}
}
