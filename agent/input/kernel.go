package input

import "github.com/visorng/visor/agent/capture"

// KernelDeltas turns a source's cumulative kernel counters into the deltas
// handler.KernelCountsConsumer wants. The zero value is ready; the first
// call reports everything counted so far.
type KernelDeltas struct {
	last capture.KernelCounters
}

// Next returns the counts since the previous call. A counter that went
// backwards (the source was reopened and its maps started over) restarts
// from its new value rather than wrapping around.
func (d *KernelDeltas) Next(cur *capture.KernelCounters) capture.KernelCounters {
	var out capture.KernelCounters
	sub := func(c, l uint64) uint64 {
		if c < l {
			return c
		}
		return c - l
	}
	l := &d.last
	out.Packets, out.Bytes = sub(cur.Packets, l.Packets), sub(cur.Bytes, l.Bytes)
	out.IPv4, out.IPv6, out.OtherL3 = sub(cur.IPv4, l.IPv4), sub(cur.IPv6, l.IPv6), sub(cur.OtherL3, l.OtherL3)
	out.UDP, out.TCP = sub(cur.UDP, l.UDP), sub(cur.TCP, l.TCP)
	out.ICMP, out.OtherL4 = sub(cur.ICMP, l.ICMP), sub(cur.OtherL4, l.OtherL4)
	out.In, out.Out, out.UnknownDir = sub(cur.In, l.In), sub(cur.Out, l.Out), sub(cur.UnknownDir, l.UnknownDir)
	out.Fragments, out.DNSPort, out.TCPSyn = sub(cur.Fragments, l.Fragments), sub(cur.DNSPort, l.DNSPort), sub(cur.TCPSyn, l.TCPSyn)
	out.Filtered, out.Sampled = sub(cur.Filtered, l.Filtered), sub(cur.Sampled, l.Sampled)
	out.NotSampled, out.RingFailures = sub(cur.NotSampled, l.NotSampled), sub(cur.RingFailures, l.RingFailures)
	for i := range cur.Matched {
		c, p := &cur.Matched[i], &l.Matched[i]
		out.Matched[i] = capture.KernelClass{
			Packets: sub(c.Packets, p.Packets), Bytes: sub(c.Bytes, p.Bytes),
			IPv4: sub(c.IPv4, p.IPv4), IPv6: sub(c.IPv6, p.IPv6), OtherL3: sub(c.OtherL3, p.OtherL3),
			UDP: sub(c.UDP, p.UDP), TCP: sub(c.TCP, p.TCP), ICMP: sub(c.ICMP, p.ICMP), OtherL4: sub(c.OtherL4, p.OtherL4),
			TCPSyn: sub(c.TCPSyn, p.TCPSyn),
		}
	}
	d.last = *cur
	return out
}
