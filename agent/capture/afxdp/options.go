// Package afxdp captures frames on a dedicated capture interface (mirror,
// SPAN or TAP port) with the XDP program of package bpf redirecting sampled
// frames into one AF_XDP socket per RX queue, as a capture.Source. The
// kernel counts every frame exactly (Stats.Kernel); user space sees the
// sample.
//
// The rings are our own over golang.org/x/sys/unix rather than
// github.com/asavie/xdp's: frames are handed out one at a time straight
// from the RX ring without the per-fetch scan of every descriptor, the fill
// ring is refilled with exactly the frame just released (so it can never
// starve while user space keeps up), and the program is attached with a
// cilium/ebpf link, so a killed process leaves nothing attached.
package afxdp

import (
	"errors"
	"time"

	"github.com/visorng/visor/bpf"
)

// Defaults for Options fields left zero.
const (
	DefaultFrameSize = 2048
	// DefaultNumFrames is per RX queue: 32 MiB of UMEM with 2 KiB frames
	// (plus 256 KiB of RX ring and 128 KiB of fill ring). A deeper ring
	// rides out the moments user space is descheduled, which at line rate
	// otherwise empty the fill ring and drop frames. The memory is locked
	// and multiplies with the queues (64 queues: 2 GiB), so lower it on a
	// NIC with many queues.
	DefaultNumFrames   = 16384
	DefaultPollTimeout = 100 * time.Millisecond
	// DefaultBatchDelay lets a busy stream build a batch of frames before
	// user space wakes for it; at 14.88 Mpps even a 4096-frame ring fills in
	// 275 µs, so it stays well clear of overrunning the ring.
	DefaultBatchDelay = 100 * time.Microsecond
)

// ErrHostInterface is wrapped when XDP mode is refused on an interface
// carrying the host's own addresses.
var ErrHostInterface = errors.New("interface carries host addresses")

// Options configure a Source.
type Options struct {
	Iface string
	// BPF configures the XDP program; Queues is set from the interface.
	BPF bpf.Options
	// Mode: XDPModeAuto tries native (driver) mode, then generic.
	Mode bpf.XDPMode
	// FrameSize is the UMEM chunk size, a power of two 2048..65536;
	// NumFrames the chunks per queue, a power of two. UMEM takes
	// FrameSize*NumFrames bytes per RX queue, and the RX and fill rings 24
	// bytes per frame more (DefaultNumFrames: 32 MiB + 384 KiB).
	//
	// When the MTU plus Ethernet and VLAN headers exceeds FrameSize less
	// 256 bytes of XDP headroom, the program is loaded multi-buffer aware
	// (bpf.Options.Frags) and the sockets bound with XDP_USE_SG: a larger
	// frame then arrives as its first buffer alone (the headers; CapLen is
	// that buffer's length, at most FrameSize-256) with OrigLen the whole
	// frame, and the kernel counters count the whole frame. Raise
	// FrameSize (up to 16384 keeps 9000-byte jumbo frames whole) to capture
	// them in full.
	FrameSize, NumFrames int
	PollTimeout          time.Duration
	// BatchDelay: when every RX ring is empty and the previous wait for
	// frames ended within BatchDelay (a busy stream), Next sleeps this long
	// and drains what arrived instead of sleeping in poll, which the kernel
	// would end for every few frames — each such wakeup costs a context
	// switch (several µs on a VM) that at high rates dwarfs the per-frame
	// work. Sparse traffic still wakes Next at once. Frames of a batch share
	// the timestamp taken when it is found, so this bounds the extra
	// timestamp error a busy stream sees. 0 means DefaultBatchDelay; a
	// negative value always sleeps in poll.
	BatchDelay time.Duration
	// NoZeroCopy skips the zero-copy attempt.
	NoZeroCopy bool
	// AllowHostAddrs permits XDP mode on an interface with (non link-local)
	// addresses. XDP redirect consumes the frames it samples: the host
	// stack never sees them, so on a host's own interface its traffic would
	// break. Use the tc source there.
	AllowHostAddrs bool
}

func (o Options) withDefaults() Options {
	if o.FrameSize == 0 {
		o.FrameSize = DefaultFrameSize
	}
	if o.NumFrames == 0 {
		o.NumFrames = DefaultNumFrames
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.BatchDelay == 0 {
		o.BatchDelay = DefaultBatchDelay
	}
	return o
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }
