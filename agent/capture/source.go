// Package capture defines the seam between packet sources (pcap files,
// AF_XDP, the TC ring buffer, AF_PACKET, libpcap) and everything downstream.
// The reader and the live agent run the same decode and handler code on any
// Source.
package capture

import (
	"time"

	"github.com/visorng/visor/decode"
)

// Frame is one captured frame plus what the source knows about it.
//
// Ownership: Data aliases the source's buffer (a mmap'd ring slot, a UMEM
// frame, a file read buffer). It stays valid only until the next call to
// Next or Close on the same Source. A consumer that keeps bytes beyond that
// must copy them.
type Frame struct {
	Data      []byte
	Timestamp time.Time
	CapLen    int // len(Data)
	OrigLen   int // length on the wire
	LinkType  decode.LinkType
	// Dir is a direction hint from the capture hook (TC ingress/egress,
	// AF_PACKET pkttype); DirUnknown when the source cannot tell, in which
	// case the input decides from host_spec.
	Dir decode.Direction
}

// Source delivers frames one at a time.
type Source interface {
	// Next fills f with the next frame. It returns io.EOF when a finite
	// source is exhausted, and a wrapped error naming the source and
	// position when the input is corrupt (after all good frames before it
	// were delivered).
	Next(f *Frame) error
	// Stats reports the source's own counters; they are cumulative.
	Stats() Stats
	Close() error
}

// Stats are cumulative counters a source keeps. Fields a source cannot know
// stay zero; Path names the capture path for reporting.
type Stats struct {
	Path     string // "pcap_file", "af_xdp", "tc", "af_packet", "libpcap"
	Received uint64 // frames handed to Next
	Bytes    uint64
	OSDrops  uint64 // kernel/socket drops (ring full, socket overrun, reserve failure)
	IfDrops  uint64 // drops at the interface/driver
	Filtered uint64 // frames rejected by the capture filter inside the source
	// Kernel is set by eBPF paths: exact counts of every packet seen by the
	// kernel program, before sampling or user-space loss.
	Kernel *KernelCounters
}

// KernelCounters are the exact per-packet counts kept by the kernel programs.
type KernelCounters struct {
	Packets, Bytes          uint64
	IPv4, IPv6, OtherL3     uint64
	UDP, TCP, ICMP, OtherL4 uint64
	In, Out, UnknownDir     uint64
	Fragments               uint64
	DNSPort                 uint64
	TCPSyn                  uint64
	Filtered                uint64 // rejected by the tap filter
	Sampled                 uint64 // passed to user space
	NotSampled              uint64 // passed the filter, not chosen by sampling
	RingFailures            uint64 // redirect or ring reserve failures
	// Matched are the packets the tap filter accepted (every packet when
	// there is none), by direction (indexed by decode.Direction): what the
	// net handler counts when it takes its counters from the kernel.
	Matched [3]KernelClass
}

// KernelClass is one direction's exact counts of the packets that passed
// the tap filter. OtherL3 frames are neither IPv4 nor IPv6 and count in no
// L4 field.
type KernelClass struct {
	Packets, Bytes          uint64
	IPv4, IPv6, OtherL3     uint64
	UDP, TCP, ICMP, OtherL4 uint64
	TCPSyn                  uint64
}
