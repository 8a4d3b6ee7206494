// Package kcount converts the kernel programs' counters (package bpf) into
// the capture seam's KernelCounters, so every eBPF source reports them the
// same way.
package kcount

import (
	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/bpf"
)

// FromTotals maps bpf.Totals to capture.KernelCounters. Everything counts
// every packet seen before filter or sampling, except Sampled, NotSampled
// and RingFailures, which are fates of the packets that passed the filter
// (Filtered counts those that did not), and Matched, which counts only the
// packets that passed the filter, by direction.
func FromTotals(t bpf.Totals) *capture.KernelCounters {
	all := t.AllSeen()
	k := &capture.KernelCounters{
		Packets:      all.Packets,
		Bytes:        all.Bytes,
		IPv4:         all.L3Ipv4,
		IPv6:         all.L3Ipv6,
		OtherL3:      all.L3Other,
		UDP:          all.L4Udp,
		TCP:          all.L4Tcp,
		ICMP:         all.L4Icmp,
		OtherL4:      all.L4Other,
		In:           t.Seen[bpf.DirIn].Packets,
		Out:          t.Seen[bpf.DirOut].Packets,
		UnknownDir:   t.Seen[bpf.DirUnknown].Packets,
		Fragments:    all.Fragments,
		DNSPort:      all.DnsPort,
		TCPSyn:       all.TcpSyn,
		Filtered:     all.Filtered,
		Sampled:      all.Sampled,
		NotSampled:   all.NotSampled,
		RingFailures: all.DeliverFailed + all.InternalError,
	}
	// bpf.Direction and decode.Direction share their order: unknown, in, out.
	for d, c := range t.Matched {
		k.Matched[d] = capture.KernelClass{
			Packets: c.Packets, Bytes: c.Bytes,
			IPv4: c.L3Ipv4, IPv6: c.L3Ipv6, OtherL3: c.L3Other,
			UDP: c.L4Udp, TCP: c.L4Tcp, ICMP: c.L4Icmp, OtherL4: c.L4Other,
			TCPSyn: c.TcpSyn,
		}
	}
	return k
}
