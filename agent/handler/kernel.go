package handler

import (
	"time"

	"github.com/visorng/visor/agent/capture"
)

// The kernel fast path (XDP and TC sources) counts every packet exactly and
// may pass only a per-flow sample of them to user space. These interfaces
// let an input split the work: exact counters from the kernel, deep
// metrics (top-N, cardinality, quantiles) from the frames user space gets.

// KernelCounted is implemented by handlers able to take their counters from
// the kernel. A packet input whose source counts in the kernel calls
// CountFromKernel before feeding packets, and again whenever its kernel
// sample rate changes: kernelRate is the percentage of flows the kernel
// passes to user space (100 = every packet). The handler returns whether
// it switched: from then on its counters come only from KernelCounts and
// HandlePacket feeds only its deep metrics. A handler that cannot (for
// example one filtering packets by their addresses, which the kernel's
// counters do not split by) returns false and keeps counting packets.
type KernelCounted interface {
	CountFromKernel(kernelRate int) bool
}

// KernelCountsConsumer receives the kernel's exact counts as deltas since
// the previous call: about once a second of event time and once at the end
// of the input. Only handlers that accepted CountFromKernel are called.
type KernelCountsConsumer interface {
	KernelCounts(delta *capture.KernelCounters, ts time.Time)
}

// DeepSampler reports the share of packets (percent, 0..100) a handler
// needs to see in user space; the input asks the kernel for the largest
// share any attached handler needs, so none is starved. 0 means the handler
// works on whatever sample arrives. Handlers consuming packets without
// implementing it are taken to need every packet.
type DeepSampler interface {
	DeepSampleRate() int
}
