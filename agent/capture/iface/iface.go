// Package iface resolves the pcap input's `iface` setting — an interface
// name, an address held by an interface, or `auto` — to the interface a
// capture source binds to, with the facts the sources and host_spec
// auto-detection need (index, addresses, MTU, RX queue count).
//
// Reading /sys and the kernel's interface list is kept apart from the
// decisions made on what was read, so the decisions are tested with literal
// inputs and no privileges.
package iface

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ErrNoAutoInterface is returned by Resolve("auto") when no interface
// qualifies. Its text is pktvisor's.
var ErrNoAutoInterface = errors.New("iface was set to 'auto' but no interface was found")

// ErrNotFound is wrapped when a name or address matches no interface.
var ErrNotFound = errors.New("interface not found")

// Auto is the spec that asks for the busiest interface.
const Auto = "auto"

// Interface is a resolved capture interface.
type Interface struct {
	Name  string
	Index int
	// Addrs are the interface's addresses with their netmask prefix, the
	// host set used for direction when host_spec is empty. Host bits are
	// kept (10.0.0.5/24), as pktvisor does.
	Addrs       []netip.Prefix
	MTU         int
	NumRxQueues int // entries rx-* under /sys/class/net/NAME/queues; at least 1
	Up          bool
	Loopback    bool
}

// Resolve turns an iface spec into an interface of this network namespace.
func Resolve(spec string) (Interface, error) {
	return resolve(spec, os.DirFS("/sys/class/net"), systemInterfaces)
}

// resolve is Resolve with its two fetchers injected.
func resolve(spec string, sysfs fs.FS, list func() ([]Interface, error)) (Interface, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Interface{}, errors.New("resolve interface: iface is empty")
	}
	ifs, err := list()
	if err != nil {
		return Interface{}, fmt.Errorf("resolve interface %q: %w", spec, err)
	}
	var found Interface
	switch addr, aerr := netip.ParseAddr(spec); {
	case spec == Auto:
		busy, err := readBusiest(sysfs, ifs)
		if err != nil {
			return Interface{}, err
		}
		found, _ = byName(ifs, busy)
	case aerr == nil:
		var ok bool
		if found, ok = byAddr(ifs, addr); !ok {
			return Interface{}, fmt.Errorf("resolve interface: no interface holds %s: %w", addr, ErrNotFound)
		}
	default:
		var ok bool
		if found, ok = byName(ifs, spec); !ok {
			return Interface{}, fmt.Errorf("resolve interface %q: %w", spec, ErrNotFound)
		}
	}
	found.NumRxQueues = countRxQueues(sysfs, found.Name)
	return found, nil
}

func byName(ifs []Interface, name string) (Interface, bool) {
	for _, i := range ifs {
		if i.Name == name {
			return i, true
		}
	}
	return Interface{}, false
}

// byAddr finds the interface holding addr. Zones are ignored so fe80::1%eth0
// and fe80::1 both match; IPv4-mapped IPv6 forms match their IPv4 address.
func byAddr(ifs []Interface, addr netip.Addr) (Interface, bool) {
	addr = addr.WithZone("").Unmap()
	for _, i := range ifs {
		for _, p := range i.Addrs {
			if p.Addr().WithZone("").Unmap() == addr {
				return i, true
			}
		}
	}
	return Interface{}, false
}

// Counters are what /sys says about one interface for the `auto` choice.
type Counters struct {
	Name       string
	Flags      uint64 // IFF_* from /sys/class/net/NAME/flags
	RxPackets  uint64
	TxPackets  uint64
	readFailed bool
}

const (
	iffUp       = 0x1
	iffLoopback = 0x8
)

// PickBusiest returns the name of the UP, non-loopback interface with the
// most received plus transmitted packets; ties go to the first in name order
// so the choice is stable.
func PickBusiest(cs []Counters) (string, bool) {
	best, bestN, ok := "", uint64(0), false
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b Counters) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range sorted {
		if c.readFailed || c.Flags&iffUp == 0 || c.Flags&iffLoopback != 0 {
			continue
		}
		if n := c.RxPackets + c.TxPackets; !ok || n > bestN {
			best, bestN, ok = c.Name, n, true
		}
	}
	return best, ok
}

// readBusiest reads the counters of the interfaces in ifs from sysfs and
// picks the busiest. Interfaces that vanish while being read are skipped.
func readBusiest(sysfs fs.FS, ifs []Interface) (string, error) {
	cs := make([]Counters, 0, len(ifs))
	for _, i := range ifs {
		cs = append(cs, readCounters(sysfs, i.Name))
	}
	name, ok := PickBusiest(cs)
	if !ok {
		return "", ErrNoAutoInterface
	}
	return name, nil
}

func readCounters(sysfs fs.FS, name string) Counters {
	c := Counters{Name: name}
	var err1, err2, err3 error
	c.Flags, err1 = readUint(sysfs, name+"/flags")
	c.RxPackets, err2 = readUint(sysfs, name+"/statistics/rx_packets")
	c.TxPackets, err3 = readUint(sysfs, name+"/statistics/tx_packets")
	c.readFailed = err1 != nil || err2 != nil || err3 != nil
	return c
}

func readUint(sysfs fs.FS, path string) (uint64, error) {
	b, err := fs.ReadFile(sysfs, path)
	if err != nil {
		return 0, err
	}
	return ParseSysUint(string(b))
}

// ParseSysUint parses a sysfs number: decimal, or hex with a 0x prefix (as in
// the flags file), with surrounding whitespace.
// A value that does not parse, or overflows, gives 0 and an error: strconv
// alone would return the largest uint64 for an overflow, which a caller
// taking flags or speeds from it would believe.
func ParseSysUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	digits, base := s, 10
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		digits, base = h, 16
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, fmt.Errorf("sysfs number %q: %w", s, err)
	}
	return v, nil
}

// countRxQueues counts rx-N entries under NAME/queues; an interface without
// a queues directory (or whose read fails) has one queue.
func countRxQueues(sysfs fs.FS, name string) int {
	ents, err := fs.ReadDir(sysfs, name+"/queues")
	if err != nil {
		return 1
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return CountRxQueues(names)
}

// CountRxQueues counts rx-<number> names in a queues directory listing, at
// least 1.
func CountRxQueues(entries []string) int {
	n := 0
	for _, e := range entries {
		if q, ok := strings.CutPrefix(e, "rx-"); ok {
			if _, err := strconv.ParseUint(q, 10, 32); err == nil {
				n++
			}
		}
	}
	return max(n, 1)
}

// systemInterfaces lists this namespace's interfaces with their addresses.
func systemInterfaces() ([]Interface, error) {
	nis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Interface, 0, len(nis))
	for _, ni := range nis {
		i := Interface{
			Name:     ni.Name,
			Index:    ni.Index,
			MTU:      ni.MTU,
			Up:       ni.Flags&net.FlagUp != 0,
			Loopback: ni.Flags&net.FlagLoopback != 0,
		}
		addrs, err := ni.Addrs()
		if err != nil {
			// The interface vanished between listing and reading; it cannot be
			// the one asked for.
			continue
		}
		i.Addrs = PrefixesOf(addrs)
		out = append(out, i)
	}
	return out, nil
}

// PrefixesOf converts the net package's interface addresses to prefixes,
// keeping the host bits and dropping anything that is not an IP network.
func PrefixesOf(addrs []net.Addr) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ones, bits := n.Mask.Size()
		if bits == 0 {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() && bits == 128 {
			ones -= 96
		}
		out = append(out, netip.PrefixFrom(ip, ones))
	}
	return out
}
