//go:build libpcap && cgo && linux

package libpcap

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

type ifaceState uint8

const (
	ifaceUp ifaceState = iota
	ifaceDown
	ifaceGone
)

// ifaceProbe asks the kernel about the capture interface through a socket
// created with the source, so the question is put to the source's network
// namespace whichever thread asks.
type ifaceProbe struct {
	fd    int
	index uint32
	ifr   *unix.Ifreq
}

func newIfaceProbe(name string) (*ifaceProbe, error) {
	if name == "any" {
		return &ifaceProbe{fd: -1}, nil
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
	return &ifaceProbe{fd: fd, index: ifr.Uint32(), ifr: ifr}, nil
}

// state looks the interface up by index (a new interface with the same name
// is a different interface) and reads its flags.
func (p *ifaceProbe) state() ifaceState {
	if p.fd < 0 {
		return ifaceUp
	}
	p.ifr.SetUint32(p.index)
	if err := unix.IoctlIfreq(p.fd, unix.SIOCGIFNAME, p.ifr); errors.Is(err, unix.ENODEV) {
		return ifaceGone
	} else if err != nil {
		return ifaceUp
	}
	if err := unix.IoctlIfreq(p.fd, unix.SIOCGIFFLAGS, p.ifr); err != nil {
		return ifaceUp
	}
	if p.ifr.Uint16()&unix.IFF_UP == 0 {
		return ifaceDown
	}
	return ifaceUp
}

func (p *ifaceProbe) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}
