package input

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/visorng/visor/decode"
)

// HostSet is the set of subnets that count as "this host" (host_spec). It
// decides the direction of a packet: destination inside ⇒ in, else source
// inside ⇒ out, else unknown.
type HostSet struct {
	v4, v6 []netip.Prefix
	// v4nets are the v4 prefixes as masked integers: Direction runs for
	// every packet, and a mask-and-compare is far cheaper than
	// netip.Prefix.Contains.
	v4nets []v4net
}

type v4net struct{ net, mask uint32 }

func (hs *HostSet) addV4(p netip.Prefix) {
	hs.v4 = append(hs.v4, p)
	mask := ^uint32(0) << (32 - p.Bits()) // a shift by 32 gives 0: /0
	b := p.Addr().As4()
	hs.v4nets = append(hs.v4nets, v4net{net: binary.BigEndian.Uint32(b[:]) & mask, mask: mask})
}

// ParseHostSpec parses a comma-separated CIDR list. Every entry needs an
// explicit prefix length, as pktvisor requires; host bits are kept.
func ParseHostSpec(spec string) (HostSet, error) {
	var hs HostSet
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		addr, bits, ok := strings.Cut(f, "/")
		if !ok {
			return hs, fmt.Errorf("invalid CIDR: %s", f)
		}
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			if strings.Contains(addr, ":") {
				return hs, fmt.Errorf("invalid IPv6 address: %s", addr)
			}
			return hs, fmt.Errorf("invalid IPv4 address: %s", addr)
		}
		p, err := netip.ParsePrefix(a.String() + "/" + bits)
		if err != nil {
			return hs, fmt.Errorf("invalid CIDR: %s", f)
		}
		if a.Is4() {
			hs.addV4(p)
		} else {
			hs.v6 = append(hs.v6, p)
		}
	}
	return hs, nil
}

// HostSetOf builds a set from prefixes (interface addresses).
func HostSetOf(prefixes []netip.Prefix) HostSet {
	var hs HostSet
	for _, p := range prefixes {
		if p.Addr().Is4() {
			hs.addV4(p)
		} else {
			hs.v6 = append(hs.v6, p)
		}
	}
	return hs
}

// Empty reports whether no subnet is configured.
func (hs HostSet) Empty() bool { return len(hs.v4) == 0 && len(hs.v6) == 0 }

// Prefixes lists the configured subnets.
func (hs HostSet) Prefixes() []netip.Prefix {
	return append(append([]netip.Prefix(nil), hs.v4...), hs.v6...)
}

// Contains reports whether a is inside the set. The unspecified address
// never matches.
func (hs HostSet) Contains(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		x := binary.BigEndian.Uint32(b[:])
		if x == 0 {
			return false
		}
		for _, n := range hs.v4nets {
			if x&n.mask == n.net {
				return true
			}
		}
		return false
	}
	if !a.IsValid() || a.IsUnspecified() {
		return false
	}
	for _, p := range hs.v6 {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Direction classifies p.
func (hs HostSet) Direction(p *decode.Packet) decode.Direction {
	switch {
	case hs.Contains(p.Dst):
		return decode.DirIn
	case hs.Contains(p.Src):
		return decode.DirOut
	}
	return decode.DirUnknown
}
