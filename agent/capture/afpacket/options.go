// Package afpacket captures live frames with an AF_PACKET socket and a
// TPACKET_V3 memory-mapped ring, in pure Go (no cgo), as a capture.Source.
//
// The kernel fills blocks of the ring with frames and hands whole blocks to
// user space; Next walks a block frame by frame and returns the block to the
// kernel only when the next block is needed, so frames alias the ring and no
// per-frame copy or allocation happens. Next waits with poll(2) and a timeout,
// returning capture.ErrTimeout when idle so the caller can heartbeat.
//
// Differences from pktvisor's af_packet source, deliberately: the default
// snap length is 65535 (pktvisor's libpcap path truncates at 1000 bytes,
// which cuts DNS over TCP and large responses), the default ring is 8 MiB
// (pktvisor maps 64 × 4 MiB = 256 MiB per interface), and VLAN tags the
// kernel strips into metadata are put back into the frame, as libpcap does,
// so the decoder sees the frame as it was on the wire.
package afpacket

import (
	"fmt"
	"time"

	"golang.org/x/net/bpf"
)

// Defaults for Options fields left zero.
const (
	DefaultSnapLen       = 65535
	DefaultBlockSize     = 1 << 20
	DefaultBlockCount    = 8
	DefaultRetireTimeout = 10 * time.Millisecond
	DefaultPollTimeout   = 100 * time.Millisecond

	// MaxSnapLen is libpcap's largest snap length.
	MaxSnapLen = 262144
)

// AnyInterface captures on every interface of the network namespace, with
// Linux "cooked" (SLL) framing and without promiscuous mode.
const AnyInterface = "any"

// FanoutMode is how the kernel spreads frames over a fanout group's sockets
// (PACKET_FANOUT_*).
type FanoutMode uint16

const (
	FanoutHash     FanoutMode = 0 // by flow hash: a flow stays on one socket
	FanoutLB       FanoutMode = 1 // round robin
	FanoutCPU      FanoutMode = 2 // by receiving CPU
	FanoutRollover FanoutMode = 3
	FanoutRandom   FanoutMode = 4
	FanoutQueue    FanoutMode = 5 // by RX queue
)

// Fanout joins the socket to a fanout group so several sources (one per
// goroutine or process) share an interface's frames.
type Fanout struct {
	Group uint16
	Mode  FanoutMode
}

// Options configure a Source. The zero value of every field means its
// default.
type Options struct {
	// Iface is the interface name, or AnyInterface.
	Iface string
	// SnapLen is the most bytes kept of each frame (default 65535).
	SnapLen int
	// BlockSize is the size of one ring block: a multiple of the page size
	// and at least SnapLen plus headers. BlockSize × BlockCount is the
	// memory the ring locks in the kernel (default 1 MiB × 8).
	BlockSize  int
	BlockCount int
	// RetireTimeout is how long the kernel keeps a partly filled block
	// before handing it over; it bounds the delivery latency at low rates.
	RetireTimeout time.Duration
	// PollTimeout bounds how long Next waits before returning ErrTimeout.
	PollTimeout time.Duration
	// NoPromiscuous leaves the interface out of promiscuous mode, so a
	// mirror port's frames addressed to other hosts are not seen.
	// Promiscuous mode is never set on AnyInterface.
	NoPromiscuous bool
	// Filter is a classic BPF program (from agent/filter) compiled for the
	// source's link type — Ethernet for Ethernet-like interfaces, Linux SLL
	// for AnyInterface (see LinkTypeOf). The kernel runs it before a frame
	// enters the ring, so rejected frames cost no ring space and are not
	// counted anywhere.
	Filter []bpf.RawInstruction
	// Fanout, if set, joins a fanout group after binding.
	Fanout *Fanout
}

func (o Options) withDefaults() Options {
	if o.SnapLen == 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockCount == 0 {
		o.BlockCount = DefaultBlockCount
	}
	if o.RetireTimeout == 0 {
		o.RetireTimeout = DefaultRetireTimeout
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	return o
}

// blockOverhead is room for the block descriptor, one frame header,
// sockaddr_ll, the reserve and alignment, so one frame of SnapLen fits.
const blockOverhead = 512

func (o Options) validate(pageSize int) error {
	switch {
	case o.Iface == "":
		return fmt.Errorf("af_packet: no interface given")
	case o.SnapLen < 64 || o.SnapLen > MaxSnapLen:
		return fmt.Errorf("af_packet: snaplen %d outside 64..%d", o.SnapLen, MaxSnapLen)
	case o.BlockSize <= 0 || o.BlockSize%pageSize != 0:
		return fmt.Errorf("af_packet: block size %d is not a multiple of the page size %d", o.BlockSize, pageSize)
	case o.BlockSize < o.SnapLen+blockOverhead:
		return fmt.Errorf("af_packet: block size %d cannot hold a frame of snaplen %d", o.BlockSize, o.SnapLen)
	case o.BlockCount < 1 || o.BlockCount > 1<<16:
		return fmt.Errorf("af_packet: block count %d outside 1..65536", o.BlockCount)
	case o.RetireTimeout < time.Millisecond:
		return fmt.Errorf("af_packet: retire timeout %v under 1ms", o.RetireTimeout)
	case o.PollTimeout < time.Millisecond:
		return fmt.Errorf("af_packet: poll timeout %v under 1ms", o.PollTimeout)
	}
	return nil
}

// RingStats are PACKET_STATISTICS accumulated over the socket's life. The
// kernel resets its counters on every read; the source adds them up.
type RingStats struct {
	Packets uint64 // frames that passed the filter, including dropped ones
	Drops   uint64 // frames lost because the ring was full
	Freezes uint64 // times the ring filled and the kernel froze the queue
}
