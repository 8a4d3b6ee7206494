// Package libpcap captures live frames through libpcap (gopacket/pcap, cgo)
// as a capture.Source. It exists for parity with pktvisor's default capture
// path and for platforms or kernels where AF_PACKET rings are unavailable.
//
// The cgo code is behind the `libpcap` build tag; without it (or without
// cgo) Open returns ErrNotBuilt, so `CGO_ENABLED=0 go build ./...` keeps
// working.
package libpcap

import (
	"errors"
	"time"
)

// ErrNotBuilt is returned by Open in binaries built without the libpcap tag
// or without cgo.
var ErrNotBuilt = errors.New("libpcap capture not built in (rebuild with -tags libpcap and cgo)")

// Defaults for Options fields left zero. The snap length is 65535, not
// pktvisor's 1000 bytes, so DNS over TCP and large responses arrive whole.
const (
	DefaultSnapLen       = 65535
	DefaultBufferTimeout = 10 * time.Millisecond // pktvisor's packet buffer timeout
	DefaultPollTimeout   = 100 * time.Millisecond
	DefaultBufferSize    = 8 << 20
)

// Options configure a Source. Zero values mean the defaults.
type Options struct {
	Iface   string // interface name or "any"
	SnapLen int
	// BufferTimeout is libpcap's packet buffer timeout: how long the kernel
	// may hold frames to deliver them in batches.
	BufferTimeout time.Duration
	// PollTimeout bounds how long Next waits before returning
	// capture.ErrTimeout.
	PollTimeout time.Duration
	// BufferSize is libpcap's capture buffer (its AF_PACKET ring on Linux).
	BufferSize    int
	NoPromiscuous bool
	// Filter is a tcpdump expression compiled by libpcap itself.
	Filter string
}
