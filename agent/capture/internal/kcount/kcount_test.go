package kcount

import (
	"testing"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
)

func TestFromTotals(t *testing.T) {
	var tot bpf.Totals
	tot.Seen[bpf.DirIn] = bpf.Counters{Packets: 5, Bytes: 500, L3Ipv4: 4, L3Other: 1, L4Udp: 3, L4Tcp: 1, DnsPort: 2, Sampled: 3, Filtered: 2}
	tot.Seen[bpf.DirOut] = bpf.Counters{Packets: 2, Bytes: 200, L3Ipv6: 2, L4Icmp: 2, Sampled: 1, DeliverFailed: 1}
	tot.Seen[bpf.DirUnknown] = bpf.Counters{Packets: 1, Bytes: 60, L3Other: 1, L4Other: 1, NotSampled: 1, InternalError: 1, Fragments: 1, TcpSyn: 1}
	k := FromTotals(tot)
	if k.Packets != 8 || k.Bytes != 760 || k.IPv4 != 4 || k.IPv6 != 2 || k.OtherL3 != 2 ||
		k.UDP != 3 || k.TCP != 1 || k.ICMP != 2 || k.OtherL4 != 1 ||
		k.In != 5 || k.Out != 2 || k.UnknownDir != 1 || k.Fragments != 1 || k.DNSPort != 2 || k.TCPSyn != 1 ||
		k.Filtered != 2 || k.Sampled != 4 || k.NotSampled != 1 || k.RingFailures != 2 {
		t.Fatalf("%+v", *k)
	}
}

func TestFromTotalsMatched(t *testing.T) {
	var tot bpf.Totals
	tot.Seen[bpf.DirIn] = bpf.Counters{Packets: 9}
	tot.Matched[bpf.DirIn] = bpf.Counters{Packets: 5, Bytes: 500, L3Ipv4: 4, L3Other: 1, L4Udp: 3, L4Tcp: 1, TcpSyn: 1}
	tot.Matched[bpf.DirOut] = bpf.Counters{Packets: 2, Bytes: 200, L3Ipv6: 2, L4Icmp: 2}
	k := FromTotals(tot)
	want := capture.KernelClass{Packets: 5, Bytes: 500, IPv4: 4, OtherL3: 1, UDP: 3, TCP: 1, TCPSyn: 1}
	if k.Matched[decode.DirIn] != want {
		t.Errorf("in = %+v, want %+v", k.Matched[decode.DirIn], want)
	}
	if got := k.Matched[decode.DirOut]; got.Packets != 2 || got.IPv6 != 2 || got.ICMP != 2 {
		t.Errorf("out = %+v", got)
	}
	if k.Matched[decode.DirUnknown] != (capture.KernelClass{}) || k.Packets != 9 {
		t.Errorf("unknown = %+v, packets %d", k.Matched[decode.DirUnknown], k.Packets)
	}
}
