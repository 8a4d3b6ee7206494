//go:build linux

// Package ifprobe tells a capture source whether its interface is up, down
// or gone, asking the network namespace the source was opened in whichever
// thread asks: sources whose kernel side reports nothing when the interface
// disappears (libpcap through gopacket, TC links, AF_XDP) use it on idle.
package ifprobe

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// State of the probed interface.
type State uint8

const (
	Up State = iota
	Down
	Gone
)

// Probe holds a socket of the namespace it was created in.
type Probe struct {
	fd    int
	index uint32
	ifr   *unix.Ifreq
}

// New probes the named interface of the calling thread's namespace; "any"
// (or "") makes a probe that always says Up.
func New(name string) (*Probe, error) {
	if name == "any" || name == "" {
		return &Probe{fd: -1}, nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("interface probe: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("interface probe %s: %w", name, err)
	}
	return &Probe{fd: fd, index: ifr.Uint32(), ifr: ifr}, nil
}

// Index is the probed interface's index (0 for "any").
func (p *Probe) Index() int { return int(p.index) }

// State looks the interface up by index (a new interface with the same name
// is a different interface) and reads its flags. It does not allocate.
func (p *Probe) State() State {
	if p.fd < 0 {
		return Up
	}
	p.ifr.SetUint32(p.index)
	if err := unix.IoctlIfreq(p.fd, unix.SIOCGIFNAME, p.ifr); errors.Is(err, unix.ENODEV) {
		return Gone
	} else if err != nil {
		return Up
	}
	if err := unix.IoctlIfreq(p.fd, unix.SIOCGIFFLAGS, p.ifr); err != nil {
		return Up
	}
	if p.ifr.Uint16()&unix.IFF_UP == 0 {
		return Down
	}
	return Up
}

// Close releases the socket; it is idempotent.
func (p *Probe) Close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}
