//go:build linux

// Package capturetest is the shared harness of the capture sources'
// privileged tests, in agent/capture and beyond it (the agent's tests of
// pcap_source, test/capture): throwaway network namespaces joined by a veth
// pair, a known mix of frames to inject, collecting and matching what a
// source delivers, and the scaffolding of the SIGKILL tests. The
// namespaces themselves come from test/capture/vethnet, which the capture
// benchmark shares; this package ties them to a test's lifetime.
//
// Everything a helper creates is removed in t.Cleanup, also when the test
// fails. Nothing here changes the calling thread's namespace: work inside
// one runs through NS.Do.
package capturetest

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"

	"github.com/visorng/visor/test/capture/vethnet"
)

// NS and Injector are vethnet's; see there.
type (
	NS       = vethnet.NS
	Injector = vethnet.Injector
)

// RequireRoot skips the test unless it runs as root, which creating
// namespaces and packet sockets needs.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veth pairs and packet sockets")
	}
}

// pairSeq keeps the namespace names of one test binary distinct.
var pairSeq atomic.Uint64

// NewPair creates a vethnet pair in namespaces named after this process
// (cfg.Prefix is replaced), removed at cleanup. Callers skip without root
// first, in their own words.
func NewPair(t testing.TB, cfg vethnet.Config) *vethnet.Pair {
	t.Helper()
	cfg.Prefix = fmt.Sprintf("visor-t%d-%d", os.Getpid(), pairSeq.Add(1))
	p, err := vethnet.NewPair(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("remove namespaces: %v", err)
		}
	})
	return p
}

// OpenInjector opens an injector on e, closed at cleanup.
func OpenInjector(t testing.TB, e *vethnet.End) *Injector {
	t.Helper()
	in, err := e.OpenInjector()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// End is one side of a Veth: a vethnet end plus the addresses NewVeth gave
// it.
type End struct {
	*vethnet.End
	Addr4 netip.Prefix
	Addr6 netip.Prefix // zero unless VethConfig.IPv6
}

// OpenInjector opens an injector on the end, closed at cleanup. It takes
// the place of vethnet's OpenInjector, which leaves closing to the caller.
func (e End) OpenInjector(t testing.TB) *Injector {
	t.Helper()
	return OpenInjector(t, e.End)
}

// Veth is a veth pair between two fresh namespaces: Capture is where a
// source under test listens, Peer is where traffic comes from.
type Veth struct {
	Capture, Peer End
}

// VethConfig tunes NewVeth.
type VethConfig struct {
	// IPv6 keeps IPv6 enabled and assigns addresses (without DAD). Off by
	// default so the kernel sends no router or listener solicitations that
	// would add frames a test did not send.
	IPv6 bool
	MTU  int // default 1500
	// RxQueues sets the ends' queue counts (default: one per possible CPU).
	RxQueues int
}

// NewVeth creates two namespaces joined by a veth pair, both ends up with
// 10.231.0.1/24 (capture) and 10.231.0.2/24 (peer), and fd00:231::1/64 and
// ::2/64 with IPv6. It skips the test without root.
func NewVeth(t testing.TB, cfg VethConfig) *Veth {
	t.Helper()
	RequireRoot(t)
	capEnd := End{Addr4: netip.MustParsePrefix("10.231.0.1/24")}
	peerEnd := End{Addr4: netip.MustParsePrefix("10.231.0.2/24")}
	if cfg.IPv6 {
		capEnd.Addr6 = netip.MustParsePrefix("fd00:231::1/64")
		peerEnd.Addr6 = netip.MustParsePrefix("fd00:231::2/64")
	}
	p := NewPair(t, vethnet.Config{
		CaptureAddrs: capEnd.prefixes(),
		PeerAddrs:    peerEnd.prefixes(),
		IPv6:         cfg.IPv6,
		RxQueues:     cfg.RxQueues,
		MTU:          cfg.MTU,
	})
	capEnd.End, peerEnd.End = &p.Capture, &p.Peer
	return &Veth{Capture: capEnd, Peer: peerEnd}
}

func (e End) prefixes() []netip.Prefix {
	if e.Addr6.IsValid() {
		return []netip.Prefix{e.Addr4, e.Addr6}
	}
	return []netip.Prefix{e.Addr4}
}
