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
// (Filtered counts those that did not).
func FromTotals(t bpf.Totals) *capture.KernelCounters {
	all := t.AllSeen()
	return &capture.KernelCounters{
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
}
