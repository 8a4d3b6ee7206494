package nethandler

import (
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
)

// Kernel-counted mode: on XDP and TC sources the kernel counts every packet
// that passed the tap filter, by direction, and may pass only a per-flow
// sample to user space. The handler then takes its counters and rates from
// those exact counts (KernelCounts) and computes only its deep metrics
// (cardinality, top-N, sizes) on the frames it receives. A handler with a
// geo/ASN filter stays in packet mode: the kernel cannot split its counts by
// location.

var (
	_ handler.KernelCounted        = (*V1)(nil)
	_ handler.KernelCountsConsumer = (*V1)(nil)
	_ handler.DeepSampler          = (*V1)(nil)
	_ handler.KernelCounted        = (*V2)(nil)
	_ handler.KernelCountsConsumer = (*V2)(nil)
	_ handler.DeepSampler          = (*V2)(nil)
)

// userRate is the share of the kernel's sample a handler keeps so that it
// deep-samples `want` percent of all packets when the kernel passes
// `kernel` percent of flows (rounded up, so it never samples less).
func userRate(want, kernel int) int {
	want, kernel = window.ClampRate(want), window.ClampRate(kernel)
	if want >= kernel {
		return 100
	}
	return (want*100 + kernel - 1) / kernel
}

// sumClasses adds up the directions of the kernel's matched counts.
func sumClasses(k *capture.KernelCounters) capture.KernelClass {
	var s capture.KernelClass
	for _, c := range k.Matched {
		s.Packets += c.Packets
		s.Bytes += c.Bytes
		s.IPv4 += c.IPv4
		s.IPv6 += c.IPv6
		s.OtherL3 += c.OtherL3
		s.UDP += c.UDP
		s.TCP += c.TCP
		s.ICMP += c.ICMP
		s.OtherL4 += c.OtherL4
		s.TCPSyn += c.TCPSyn
	}
	return s
}

// otherL4 is what the packet path counts as other_l4: every frame that is
// neither UDP nor TCP, non-IP ones included.
func otherL4(c *capture.KernelClass) uint64 { return c.ICMP + c.OtherL4 + c.OtherL3 }

// DeepSampleRate is deep_sample_rate, or 100 with a geo/ASN filter (whose
// counters need every packet).
func (h *V1) DeepSampleRate() int {
	if h.filter.active() {
		return 100
	}
	return h.common.SampleRate
}

// CountFromKernel switches to kernel-counted mode unless a geo/ASN filter
// is set; the deep sampler is rescaled to the kernel's sample.
func (h *V1) CountFromKernel(kernelRate int) bool {
	if h.filter.active() {
		return false
	}
	h.mgr.Lock()
	defer h.mgr.Unlock()
	h.kernel = true
	h.sampler = window.NewSampler(userRate(h.common.SampleRate, kernelRate))
	return true
}

// KernelCounts adds one delta of the kernel's exact counts to the live
// bucket, as one second's worth of rate.
func (h *V1) KernelCounts(k *capture.KernelCounters, ts time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	if !h.kernel {
		return
	}
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	all := sumClasses(k)
	b.base.Events += all.Packets
	b.base.EventRate.Add(ts, all.Packets)
	b.total += all.Packets
	b.udp += all.UDP
	b.tcp += all.TCP
	b.otherL4 += otherL4(&all)
	b.ipv4 += all.IPv4
	b.ipv6 += all.IPv6
	b.tcpSyn += all.TCPSyn
	in, out := &k.Matched[decode.DirIn], &k.Matched[decode.DirOut]
	b.in += in.Packets
	b.out += out.Packets
	b.unknownDir += k.Matched[decode.DirUnknown].Packets
	b.ppsTotal.Add(ts, all.Packets)
	b.bytesTotal.Add(ts, all.Bytes)
	b.ppsIn.Add(ts, in.Packets)
	b.bytesIn.Add(ts, in.Bytes)
	b.ppsOut.Add(ts, out.Packets)
	b.bytesOut.Add(ts, out.Bytes)
}

// DeepSampleRate is deep_sample_rate, or 100 with a geo/ASN filter.
func (h *V2) DeepSampleRate() int {
	if h.filter.active() {
		return 100
	}
	return h.common.SampleRate
}

// CountFromKernel switches to kernel-counted mode unless a geo/ASN filter
// is set.
func (h *V2) CountFromKernel(kernelRate int) bool {
	if h.filter.active() {
		return false
	}
	h.mgr.Lock()
	defer h.mgr.Unlock()
	h.kernel = true
	h.sampler = window.NewSampler(userRate(h.common.SampleRate, kernelRate))
	return true
}

// KernelCounts adds one delta of the kernel's exact counts, direction by
// direction, to the live bucket.
func (h *V2) KernelCounts(k *capture.KernelCounters, ts time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	if !h.kernel {
		return
	}
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	for dir := range b.dirs {
		c := &k.Matched[dir]
		b.base.Events += c.Packets
		b.base.EventRate.Add(ts, c.Packets)
		if c.Packets == 0 {
			continue
		}
		d := &b.dirs[dir]
		d.seen = true
		d.total += c.Packets
		d.udp += c.UDP
		d.tcp += c.TCP
		d.otherL4 += otherL4(c)
		d.ipv4 += c.IPv4
		d.ipv6 += c.IPv6
		d.syn += c.TCPSyn
		d.pps.Add(ts, c.Packets)
		d.bps.Add(ts, c.Bytes)
	}
}
