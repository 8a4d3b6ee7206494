//go:build linux

// Package nettest builds throwaway network namespaces joined by a veth pair
// for the capture sources' privileged tests, and injects hand-made frames
// into them. Everything it creates is removed in t.Cleanup, also when the
// test fails.
//
// Go schedules goroutines over OS threads and a network namespace belongs to
// a thread, so nothing here changes the namespace of the calling thread:
// work inside a namespace runs through NS.Do, on a locked thread that is
// thrown away afterwards. Sockets keep the namespace they were created in,
// so a source opened inside Do can be read from any goroutine.
package nettest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// RequireRoot skips the test unless it runs as root, which creating
// namespaces and packet sockets needs.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veth pairs and packet sockets")
	}
}

// NS is a named network namespace (visible to `ip netns`).
type NS struct {
	Name string
	h    netns.NsHandle
	nl   *netlink.Handle
}

var nsSeq atomic.Uint64

// NewNS creates a fresh named namespace with its loopback up, removed at
// cleanup.
func NewNS(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	name := fmt.Sprintf("visor-t%d-%d", os.Getpid(), nsSeq.Add(1))
	// A test binary killed before its cleanups ran (timeout, SIGKILL) leaves
	// its namespaces behind, and pids are reused.
	_ = netns.DeleteNamed(name)
	var h netns.NsHandle
	err := onLockedThread(func() error {
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		h, err = netns.NewNamed(name)
		if err != nil {
			return err
		}
		return netns.Set(orig)
	})
	if err != nil {
		_ = netns.DeleteNamed(name)
		t.Fatalf("create netns %s: %v", name, err)
	}
	ns := &NS{Name: name, h: h}
	t.Cleanup(func() {
		if ns.nl != nil {
			ns.nl.Close()
		}
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatalf("netlink in %s: %v", name, err)
	}
	ns.nl = nl
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("loopback up in %s: %v", name, err)
	}
	return ns
}

// onLockedThread runs fn on a new goroutine locked to its thread; the thread
// exits with the goroutine (it is never unlocked), so a namespace change
// cannot leak into other goroutines even if fn fails half way.
func onLockedThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- fn()
	}()
	return <-done
}

// Do runs fn on a thread inside the namespace.
func (ns *NS) Do(fn func() error) error {
	return onLockedThread(func() error {
		if err := netns.Set(ns.h); err != nil {
			return fmt.Errorf("enter netns %s: %w", ns.Name, err)
		}
		return fn()
	})
}

// Netlink is a netlink handle operating in the namespace.
func (ns *NS) Netlink() *netlink.Handle { return ns.nl }

// Command prepares a command run inside the namespace with `ip netns exec`.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Sysctl sets a /proc/sys value inside the namespace; key uses slashes
// (net/ipv6/conf/all/disable_ipv6).
func (ns *NS) Sysctl(key, value string) error {
	return ns.Do(func() error {
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
	})
}

// End is one side of a veth pair.
type End struct {
	NS    *NS
	Name  string
	Index int
	MAC   net.HardwareAddr
	Addr4 netip.Prefix
	Addr6 netip.Prefix // zero unless VethConfig.IPv6
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
	// RxQueues sets the capture end's RX queue count (default 1).
	RxQueues int
}

// NewVeth creates two namespaces joined by a veth pair, both ends up with
// 10.231.0.1/24 (capture) and 10.231.0.2/24 (peer).
func NewVeth(t testing.TB, cfg VethConfig) *Veth {
	t.Helper()
	capNS, peerNS := NewNS(t), NewNS(t)
	v := &Veth{
		Capture: End{NS: capNS, Name: "cap0", Addr4: netip.MustParsePrefix("10.231.0.1/24")},
		Peer:    End{NS: peerNS, Name: "peer0", Addr4: netip.MustParsePrefix("10.231.0.2/24")},
	}
	if cfg.IPv6 {
		v.Capture.Addr6 = netip.MustParsePrefix("fd00:231::1/64")
		v.Peer.Addr6 = netip.MustParsePrefix("fd00:231::2/64")
	} else {
		for _, ns := range []*NS{capNS, peerNS} {
			for _, k := range []string{"all", "default"} {
				if err := ns.Sysctl("net/ipv6/conf/"+k+"/disable_ipv6", "1"); err != nil {
					t.Fatalf("disable ipv6 in %s: %v", ns.Name, err)
				}
			}
		}
	}
	mtu := cfg.MTU
	if mtu == 0 {
		mtu = 1500
	}
	la := netlink.NewLinkAttrs()
	la.Name = v.Capture.Name
	la.MTU = mtu
	if cfg.RxQueues > 0 {
		la.NumRxQueues = cfg.RxQueues
		la.NumTxQueues = cfg.RxQueues
	}
	veth := &netlink.Veth{LinkAttrs: la, PeerName: v.Peer.Name, PeerNamespace: netlink.NsFd(peerNS.h), PeerMTU: uint32(mtu)}
	if cfg.RxQueues > 0 {
		veth.PeerNumRxQueues = uint32(cfg.RxQueues)
	}
	if err := capNS.nl.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	for _, e := range []*End{&v.Capture, &v.Peer} {
		l, err := e.NS.nl.LinkByName(e.Name)
		if err != nil {
			t.Fatalf("find %s: %v", e.Name, err)
		}
		e.Index, e.MAC = l.Attrs().Index, l.Attrs().HardwareAddr
		addrs := []netip.Prefix{e.Addr4}
		if e.Addr6.IsValid() {
			addrs = append(addrs, e.Addr6)
		}
		for _, p := range addrs {
			a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
			if p.Addr().Is6() {
				a.Flags = unix.IFA_F_NODAD
			}
			if err := e.NS.nl.AddrAdd(l, a); err != nil {
				t.Fatalf("address %s on %s: %v", p, e.Name, err)
			}
		}
		if err := e.NS.nl.LinkSetUp(l); err != nil {
			t.Fatalf("up %s: %v", e.Name, err)
		}
	}
	return v
}

// SetUp brings the end's link up or down.
func (e *End) SetUp(up bool) error {
	l, err := e.NS.nl.LinkByIndex(e.Index)
	if err != nil {
		return fmt.Errorf("find %s: %w", e.Name, err)
	}
	if up {
		return e.NS.nl.LinkSetUp(l)
	}
	return e.NS.nl.LinkSetDown(l)
}

// Delete removes the veth pair (deleting one end removes both).
func (e *End) Delete() error {
	l, err := e.NS.nl.LinkByIndex(e.Index)
	if err != nil {
		return fmt.Errorf("find %s: %w", e.Name, err)
	}
	return e.NS.nl.LinkDel(l)
}

// Injector sends whole link-layer frames out of one interface through a raw
// packet socket.
type Injector struct {
	fd int
}

// OpenInjector opens an injector on the end's interface, inside its
// namespace. It is closed at cleanup.
func (e *End) OpenInjector(t testing.TB) *Injector {
	t.Helper()
	var fd int
	err := e.NS.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		// Protocol 0 and no ring: the socket only sends.
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: e.Index})
	})
	if err != nil {
		if fd > 0 {
			unix.Close(fd)
		}
		t.Fatalf("injector on %s: %v", e.Name, err)
	}
	in := &Injector{fd: fd}
	t.Cleanup(func() { in.Close() })
	return in
}

// Send transmits one frame. ENOBUFS (a full device queue) is retried a
// bounded number of times so a burst is not silently thinned.
func (in *Injector) Send(frame []byte) error {
	var err error
	for range 1000 {
		_, err = unix.Write(in.fd, frame)
		if !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EAGAIN) {
			break
		}
		runtime.Gosched()
	}
	if err != nil {
		return fmt.Errorf("inject frame of %d bytes: %w", len(frame), err)
	}
	return nil
}

// Close closes the socket; it is idempotent.
func (in *Injector) Close() error {
	if in.fd < 0 {
		return nil
	}
	err := unix.Close(in.fd)
	in.fd = -1
	return err
}

// KindCounts renders counts per kind in a stable order for messages.
func KindCounts(m map[Kind]int) string {
	var b strings.Builder
	for k := range numKinds {
		if m[k] != 0 {
			fmt.Fprintf(&b, "%s=%d ", k, m[k])
		}
	}
	return strings.TrimSpace(b.String())
}
