package tcring

import (
	"time"

	"github.com/visorng/visor/bpf"
)

// DefaultPollTimeout bounds how long Next waits before capture.ErrTimeout.
const DefaultPollTimeout = 100 * time.Millisecond

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
}
