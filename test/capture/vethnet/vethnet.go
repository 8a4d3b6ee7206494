//go:build linux

// Package vethnet builds throwaway pairs of named network namespaces joined
// by a veth pair, for the capture integration tests and the capture
// benchmark. Everything is created under names the caller chooses and
// removed by Close; deleting a namespace deletes the veth end inside it, and
// with it the peer.
//
// A namespace belongs to an OS thread, so nothing here moves the calling
// thread: work inside a namespace runs through NS.Do on a locked thread that
// is discarded afterwards. Sockets and BPF links keep the namespace they were
// created in, so a source opened inside Do can be used from any goroutine.
// Named namespaces are visible to `ip netns exec`, which the benchmark uses
// to run its receivers as separate processes.
package vethnet

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

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NS is a named network namespace.
type NS struct {
	Name string
	h    netns.NsHandle
	nl   *netlink.Handle
}

// NewNS creates a named namespace with its loopback up. An existing
// namespace of the same name (left by a killed run) is replaced.
func NewNS(name string) (*NS, error) {
	_ = netns.DeleteNamed(name)
	var h netns.NsHandle
	err := onLockedThread(func() error {
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		if h, err = netns.NewNamed(name); err != nil {
			return err
		}
		return netns.Set(orig)
	})
	if err != nil {
		_ = netns.DeleteNamed(name)
		return nil, fmt.Errorf("create netns %s: %w", name, err)
	}
	ns := &NS{Name: name, h: h}
	if ns.nl, err = netlink.NewHandleAt(h); err != nil {
		ns.Close()
		return nil, fmt.Errorf("netlink in %s: %w", name, err)
	}
	lo, err := ns.nl.LinkByName("lo")
	if err == nil {
		err = ns.nl.LinkSetUp(lo)
	}
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("loopback up in %s: %w", name, err)
	}
	return ns, nil
}

// Close deletes the namespace and everything in it.
func (ns *NS) Close() error {
	if ns.nl != nil {
		ns.nl.Close()
		ns.nl = nil
	}
	if ns.h.IsOpen() {
		ns.h.Close()
	}
	if err := netns.DeleteNamed(ns.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", ns.Name, err)
	}
	return nil
}

// onLockedThread runs fn on a new goroutine locked to its thread; the thread
// is never unlocked, so it exits with the goroutine and a namespace change
// cannot leak into other goroutines.
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

// Netlink operates in the namespace.
func (ns *NS) Netlink() *netlink.Handle { return ns.nl }

// Command prepares name run inside the namespace (`ip netns exec` execs it,
// so the process id is the command's own).
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Sysctl writes a /proc/sys value inside the namespace; key uses slashes.
func (ns *NS) Sysctl(key, value string) error {
	return ns.Do(func() error {
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
	})
}

// End is one side of the veth pair.
type End struct {
	NS    *NS
	Name  string
	Index int
	MAC   net.HardwareAddr
	Addrs []netip.Prefix
}

// Pair is a veth pair between two fresh namespaces: Capture is where the
// source under test listens, Peer is where traffic comes from.
type Pair struct {
	Capture, Peer End
}

// Config tunes NewPair.
type Config struct {
	// Prefix names the namespaces <Prefix>-cap and <Prefix>-peer.
	Prefix string
	// CaptureAddrs and PeerAddrs are assigned to the ends (IPv6 ones
	// without duplicate address detection). A dedicated capture port has
	// none.
	CaptureAddrs, PeerAddrs []netip.Prefix
	// IPv6 keeps IPv6 enabled. Off, the kernel sends no router or listener
	// solicitations, so every frame on the link is one the caller sent.
	IPv6 bool
	// RxQueues sets both ends' queue counts (default: the kernel's, one
	// per possible CPU).
	RxQueues int
	// MTU sets both ends' MTU (default: the kernel's, 1500 for veth).
	MTU int
}

// NewPair creates the namespaces and the veth pair, both ends up.
func NewPair(cfg Config) (p *Pair, err error) {
	capNS, err := NewNS(cfg.Prefix + "-cap")
	if err != nil {
		return nil, err
	}
	peerNS, err := NewNS(cfg.Prefix + "-peer")
	if err != nil {
		capNS.Close()
		return nil, err
	}
	p = &Pair{
		Capture: End{NS: capNS, Name: "cap0", Addrs: cfg.CaptureAddrs},
		Peer:    End{NS: peerNS, Name: "peer0", Addrs: cfg.PeerAddrs},
	}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if !cfg.IPv6 {
		for _, ns := range []*NS{capNS, peerNS} {
			for _, k := range []string{"all", "default"} {
				if err := ns.Sysctl("net/ipv6/conf/"+k+"/disable_ipv6", "1"); err != nil {
					return nil, fmt.Errorf("disable ipv6 in %s: %w", ns.Name, err)
				}
			}
		}
	}
	la := netlink.NewLinkAttrs()
	la.Name = p.Capture.Name
	if cfg.RxQueues > 0 {
		la.NumRxQueues, la.NumTxQueues = cfg.RxQueues, cfg.RxQueues
	}
	la.MTU = cfg.MTU
	veth := &netlink.Veth{LinkAttrs: la, PeerName: p.Peer.Name, PeerNamespace: netlink.NsFd(peerNS.h), PeerMTU: uint32(cfg.MTU)}
	if cfg.RxQueues > 0 {
		veth.PeerNumRxQueues, veth.PeerNumTxQueues = uint32(cfg.RxQueues), uint32(cfg.RxQueues)
	}
	if err := capNS.nl.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("add veth: %w", err)
	}
	for _, e := range []*End{&p.Capture, &p.Peer} {
		l, err := e.NS.nl.LinkByName(e.Name)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", e.Name, err)
		}
		e.Index, e.MAC = l.Attrs().Index, l.Attrs().HardwareAddr
		for _, a := range e.Addrs {
			na := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
			if a.Addr().Is6() {
				na.Flags = unix.IFA_F_NODAD
			}
			if err := e.NS.nl.AddrAdd(l, na); err != nil {
				return nil, fmt.Errorf("address %s on %s: %w", a, e.Name, err)
			}
		}
		if err := e.NS.nl.LinkSetUp(l); err != nil {
			return nil, fmt.Errorf("up %s: %w", e.Name, err)
		}
	}
	return p, nil
}

// Close removes both namespaces (and so the veth pair).
func (p *Pair) Close() error {
	return errors.Join(p.Capture.NS.Close(), p.Peer.NS.Close())
}

// StaticNeighbor adds a permanent neighbour entry on e for addr at mac, so
// traffic between the ends needs no ARP or neighbour discovery and every
// frame on the link is one a test sent.
func (e *End) StaticNeighbor(addr netip.Addr, mac net.HardwareAddr) error {
	fam := unix.AF_INET
	if addr.Is6() {
		fam = unix.AF_INET6
	}
	n := &netlink.Neigh{LinkIndex: e.Index, Family: fam, State: netlink.NUD_PERMANENT, IP: addr.AsSlice(), HardwareAddr: mac}
	if err := e.NS.nl.NeighSet(n); err != nil {
		return fmt.Errorf("neighbour %s on %s: %w", addr, e.Name, err)
	}
	return nil
}

// SetUp brings the end up or down.
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

// LinkStats are the interface counters the kernel keeps for an end.
type LinkStats struct {
	RxPackets, TxPackets, RxDropped, TxDropped uint64
}

// Stats reads the end's interface counters.
func (e *End) Stats() (LinkStats, error) {
	l, err := e.NS.nl.LinkByIndex(e.Index)
	if err != nil {
		return LinkStats{}, fmt.Errorf("find %s: %w", e.Name, err)
	}
	s := l.Attrs().Statistics
	if s == nil {
		return LinkStats{}, fmt.Errorf("%s: no statistics", e.Name)
	}
	return LinkStats{RxPackets: s.RxPackets, TxPackets: s.TxPackets, RxDropped: s.RxDropped, TxDropped: s.TxDropped}, nil
}

// XDPProgID is the id of the XDP program attached to the end (0: none).
func (e *End) XDPProgID() (uint32, error) {
	l, err := e.NS.nl.LinkByIndex(e.Index)
	if err != nil {
		return 0, fmt.Errorf("find %s: %w", e.Name, err)
	}
	if x := l.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId, nil
	}
	return 0, nil
}

// Injector sends whole link-layer frames out of one interface through a raw
// packet socket.
type Injector struct {
	fd int
}

// OpenInjector opens an injector on e, inside its namespace.
func (e *End) OpenInjector() (*Injector, error) {
	fd := -1
	err := e.NS.Do(func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		// Protocol 0: the socket only sends, it never queues received frames.
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: e.Index})
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("injector on %s: %w", e.Name, err)
	}
	return &Injector{fd: fd}, nil
}

// Send transmits one frame; a full device queue (ENOBUFS) is retried a
// bounded number of times so a burst is not silently thinned.
func (in *Injector) Send(frame []byte) error {
	var err error
	for range 1000 {
		if _, err = unix.Write(in.fd, frame); !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EAGAIN) {
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

// ValidPrefix rejects namespace prefixes `ip netns` would mangle.
func ValidPrefix(p string) error {
	if p == "" || strings.ContainsAny(p, "/ \t") || len(p) > 40 {
		return fmt.Errorf("namespace prefix %q: want 1..40 characters without slashes or spaces", p)
	}
	return nil
}
