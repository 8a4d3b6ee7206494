package bpf

import (
	"errors"
	"fmt"
	"net/netip"

	classic "golang.org/x/net/bpf"
)

// XDPAction is what the XDP program does with frames it does not redirect.
type XDPAction int

const (
	// XDPDrop suits dedicated capture ports: nothing there is for the host.
	XDPDrop XDPAction = iota
	// XDPPass hands unsampled and filtered frames to the host stack.
	XDPPass
)

// Limits of the kernel programs.
const (
	MaxSnapLen       = 9216 // largest copy per TC ring record (MAX_SNAP in tc.c)
	MaxExtraDNSPorts = 64   // entries of the dns_ports map
	MaxHostNets      = 1024 // entries of each host LPM trie
	DefaultRingBytes = 8 << 20
	DefaultQueues    = 64
)

// Options configure LoadXDP and LoadTC.
type Options struct {
	// SampleRate is the percentage of flows (5-tuples, both directions alike)
	// copied to user space, pktvisor's deep_sample_rate: 0 means 100, other
	// values are clamped to 1..100. Non-IP frames are sampled one by one.
	SampleRate int
	// SnapLen bounds the bytes copied per TC record; 0 means MaxSnapLen.
	SnapLen uint32
	// HostNets is host_spec: destination in the set means "in", else source
	// in the set means "out", else "unknown".
	HostNets []netip.Prefix
	// ExtraDNSPorts count as DNS ports besides 53, 5353, 5355 and 53000.
	ExtraDNSPorts []uint16
	// Filter is the tap's filter compiled to classic BPF for Ethernet
	// frames; nil means no filter. Ancillary loads other than the packet
	// length are not supported.
	Filter []classic.Instruction
	// DefaultXDPAction applies to frames the XDP program does not redirect.
	DefaultXDPAction XDPAction
	// WakeupThreshold (TC) is in bytes of pending ring data: a record forces
	// a reader wakeup each time the pending data crosses a multiple of it,
	// and is otherwise submitted without one while the reader polls on a
	// deadline. 1 wakes for every record; 0 keeps the kernel's own policy (a
	// wakeup whenever the reader has caught up).
	WakeupThreshold uint32
	// DirectionFromHook (TC) makes packets whose direction the host set
	// cannot tell count as "in" on ingress and "out" on egress.
	DirectionFromHook bool
	// RingBytes (TC) sizes the ring buffer: a power of two, at least a page;
	// 0 means DefaultRingBytes.
	RingBytes uint32
	// Queues (XDP) sizes the XSKMAP: one entry per RX queue; 0 means DefaultQueues.
	Queues uint32
	// Frags (XDP) loads the programs as multi-buffer aware
	// (BPF_F_XDP_HAS_FRAGS), which native XDP needs on an interface whose
	// MTU exceeds one page-sized buffer (veth refuses MTUs above about 3500
	// bytes otherwise). The programs parse only the first buffer, which
	// holds the headers, and count the whole frame's length. A filter that
	// reads payload past the first buffer sees it as absent.
	Frags bool
	// HashSeed varies the flow hash that decides sampling.
	HashSeed uint32
}

// config flags, as in headers/counters.h
const (
	cfgFilter      = 0x1
	cfgDirFromHook = 0x2
	cfgHostV4      = 0x4
	cfgHostV6      = 0x8
	cfgExtraDNS    = 0x10
	cfgFrags       = 0x20
)

// kernel constants mirrored from linux/bpf.h and maps.h
const (
	xdpDrop     = 1
	xdpPass     = 2
	progFilter  = 0
	progDeliver = 1
	xdpHasFrags = 1 << 5 // BPF_F_XDP_HAS_FRAGS, spelled out: x/sys/unix has it only on Linux
)

// ErrInvalidOptions wraps every validation failure of Options.
var ErrInvalidOptions = errors.New("invalid kernel program options")

// clampRate maps pktvisor's deep_sample_rate onto the kernel's percentage.
func clampRate(r int) uint32 {
	switch {
	case r == 0 || r >= 100:
		return 100
	case r < 1:
		return 1
	}
	return uint32(r)
}

// buildConfig validates o and returns the initial config map value.
func buildConfig(o Options) (xdpConfig, error) {
	c := xdpConfig{
		SampleRate:       clampRate(o.SampleRate),
		Snaplen:          o.SnapLen,
		WakeupBytes:      o.WakeupThreshold,
		XdpDefaultAction: xdpDrop,
		HashSeed:         o.HashSeed,
	}
	if c.Snaplen == 0 || c.Snaplen > MaxSnapLen {
		c.Snaplen = MaxSnapLen
	}
	switch o.DefaultXDPAction {
	case XDPDrop:
	case XDPPass:
		c.XdpDefaultAction = xdpPass
	default:
		return c, fmt.Errorf("%w: default XDP action %d", ErrInvalidOptions, o.DefaultXDPAction)
	}
	if o.DirectionFromHook {
		c.Flags |= cfgDirFromHook
	}
	if o.Frags {
		c.Flags |= cfgFrags
	}
	if len(o.Filter) > 0 {
		c.Flags |= cfgFilter
	}
	if len(o.ExtraDNSPorts) > MaxExtraDNSPorts {
		return c, fmt.Errorf("%w: %d extra DNS ports, at most %d", ErrInvalidOptions, len(o.ExtraDNSPorts), MaxExtraDNSPorts)
	}
	if len(o.ExtraDNSPorts) > 0 {
		c.Flags |= cfgExtraDNS
	}
	v4, v6, err := splitHostNets(o.HostNets)
	if err != nil {
		return c, err
	}
	if len(v4) > 0 {
		c.Flags |= cfgHostV4
	}
	if len(v6) > 0 {
		c.Flags |= cfgHostV6
	}
	if r := o.RingBytes; r != 0 && (r&(r-1) != 0 || r < 4096) {
		return c, fmt.Errorf("%w: ring size %d is not a power of two of at least 4096", ErrInvalidOptions, r)
	}
	return c, nil
}

// splitHostNets validates the host set and turns it into LPM trie keys.
func splitHostNets(nets []netip.Prefix) ([]xdpLpmV4Key, []xdpLpmV6Key, error) {
	var v4 []xdpLpmV4Key
	var v6 []xdpLpmV6Key
	for _, p := range nets {
		if !p.IsValid() {
			return nil, nil, fmt.Errorf("%w: host net %v", ErrInvalidOptions, p)
		}
		p = p.Masked()
		if p.Addr().Is4() {
			a := p.Addr().As4()
			v4 = append(v4, xdpLpmV4Key{Prefixlen: uint32(p.Bits()), Addr: nativeU32(a[:])})
			continue
		}
		a := p.Addr().As16()
		k := xdpLpmV6Key{Prefixlen: uint32(p.Bits())}
		for i := range k.Addr {
			k.Addr[i] = nativeU32(a[4*i:])
		}
		v6 = append(v6, k)
	}
	if len(v4) > MaxHostNets || len(v6) > MaxHostNets {
		return nil, nil, fmt.Errorf("%w: more than %d host nets per family", ErrInvalidOptions, MaxHostNets)
	}
	return v4, v6, nil
}

// nativeU32 keeps network byte order in memory: the kernel compares LPM keys
// byte by byte and the generated type marshals in host (little) endianness.
func nativeU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
