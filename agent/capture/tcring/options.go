package tcring

import (
	"time"

	"github.com/visorng/visor/bpf"
)

// DefaultPollTimeout bounds how long Next waits before capture.ErrTimeout.
const DefaultPollTimeout = 100 * time.Millisecond

// DefaultFlushInterval bounds how long a record submitted without a wakeup
// waits for the reader (pktvisor's libpcap buffer timeout is 10 ms too).
const DefaultFlushInterval = 10 * time.Millisecond

// DefaultWakeupDivisor sets the default wakeup threshold: an eighth of the
// ring. Past it the reader is woken at once; below it records wait at most
// FlushInterval, so a busy ring is read in batches of thousands of records
// and a quiet one still flows.
const DefaultWakeupDivisor = 8

// AttachMode selects how the programs are hooked to the interface.
type AttachMode uint8

const (
	// AttachAuto uses tcx links where the kernel has them (6.6+) and falls
	// back to a clsact qdisc with cls_bpf filters.
	AttachAuto AttachMode = iota
	// AttachTCX fails where tcx is missing. tcx links belong to the process:
	// they go away when it dies, even by SIGKILL.
	AttachTCX
	// AttachLegacy forces clsact + cls_bpf. These filters outlive the
	// process if it is killed before Close removes them.
	AttachLegacy
)

// Options configure a Source.
type Options struct {
	Iface       string
	BPF         bpf.Options // sampling, snap length, host set, filter, ring size
	PollTimeout time.Duration
	Attach      AttachMode
	// FlushInterval is how often a waiting Next looks at the ring for
	// records submitted without a wakeup; 0 means DefaultFlushInterval.
	// It bounds the delivery delay of traffic below the wakeup threshold.
	FlushInterval time.Duration
	// WakeEveryRecord keeps the kernel's own wakeup policy (a wakeup for
	// every record that finds the reader caught up) when BPF.WakeupThreshold
	// is 0, instead of defaulting the threshold to an eighth of the ring.
	// Each wakeup is a context switch for the reader and an interrupt on
	// the packet's CPU; only latency tests want this.
	WakeEveryRecord bool
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.BPF.WakeupThreshold == 0 && !o.WakeEveryRecord {
		ring := o.BPF.RingBytes
		if ring == 0 {
			ring = bpf.DefaultRingBytes
		}
		o.BPF.WakeupThreshold = max(ring/DefaultWakeupDivisor, 1)
	}
	return o
}
