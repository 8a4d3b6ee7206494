package flowhandler

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/visorng/visor/agent/handler"
)

var configKeys = []string{"device_map", "enrichment", "only_device_interfaces", "only_ips", "only_ports",
	"only_directions", "geoloc_notfound", "asn_notfound", "summarize_ips_by_asn", "subnets_for_summarization",
	"exclude_asns_from_summarization", "exclude_unknown_asns_from_summarization", "exclude_ips_from_summarization",
	"sample_rate_scaling"}

var allGroups = []string{"by_bytes", "by_packets", "cardinality", "counters", "top_ips", "top_ports", "top_ips_ports",
	"conversations", "top_tos", "top_geo", "top_interfaces"}

var defaultGroups = []string{"by_bytes", "by_packets", "cardinality", "counters", "top_ips", "top_ports", "top_ips_ports"}

type portRange struct{ lo, hi uint32 }

type deviceInfo struct {
	name       string
	interfaces map[uint32]string
}

type settings struct {
	enrichment  bool
	scaling     bool
	deviceMap   map[netip.Addr]deviceInfo
	onlyIPs     []netip.Prefix
	onlyPorts   []portRange
	onlyIfaces  map[netip.Addr][]portRange // nil: no filter; a "*" entry is 0..max
	onlyIn      bool
	onlyOut     bool
	geoNotFound bool
	asnNotFound bool
	byASN       bool
	subnets     []netip.Prefix
	wildcard4   int // -1: none
	wildcard6   int
	excludeASNs map[string]bool
	excludeUnkn bool
	excludeIPs  []netip.Prefix
}

func parseSettings(cfg handler.Config) (settings, error) {
	s := settings{wildcard4: -1, wildcard6: -1}
	var err error
	if s.enrichment, err = cfg.Bool("enrichment", true); err != nil {
		return s, err
	}
	if s.scaling, err = cfg.Bool("sample_rate_scaling", true); err != nil {
		return s, err
	}
	if s.geoNotFound, err = cfg.Bool("geoloc_notfound", false); err != nil {
		return s, err
	}
	if s.asnNotFound, err = cfg.Bool("asn_notfound", false); err != nil {
		return s, err
	}
	if s.byASN, err = cfg.Bool("summarize_ips_by_asn", false); err != nil {
		return s, err
	}
	if s.excludeUnkn, err = cfg.Bool("exclude_unknown_asns_from_summarization", false); err != nil {
		return s, err
	}
	if s.onlyIPs, err = prefixes(cfg, "only_ips"); err != nil {
		return s, err
	}
	if s.excludeIPs, err = prefixes(cfg, "exclude_ips_from_summarization"); err != nil {
		return s, err
	}
	subnets, err := prefixes(cfg, "subnets_for_summarization")
	if err != nil {
		return s, err
	}
	for _, p := range subnets {
		if p.Addr().IsUnspecified() {
			w := &s.wildcard6
			if p.Addr().Is4() {
				w = &s.wildcard4
			}
			if *w >= 0 {
				return s, fmt.Errorf("FlowHandler: 'subnets_for_summarization' only allows one ipv4 and one ipv6 wildcard")
			}
			*w = p.Bits()
			continue
		}
		s.subnets = append(s.subnets, p.Masked())
	}
	asns, err := cfg.StringList("exclude_asns_from_summarization")
	if err != nil {
		return s, err
	}
	s.excludeASNs = map[string]bool{}
	for _, a := range asns {
		s.excludeASNs[a] = true
	}
	ports, err := cfg.StringList("only_ports")
	if err != nil {
		return s, err
	}
	for _, p := range ports {
		r, ok := parseRange(p, 0xffff)
		if !ok || p == "*" {
			return s, fmt.Errorf("FlowHandler: invalid 'only_ports' filter value: %s", p)
		}
		s.onlyPorts = append(s.onlyPorts, r)
	}
	dirs, err := cfg.StringList("only_directions")
	if err != nil {
		return s, err
	}
	for _, d := range dirs {
		switch d {
		case "in":
			s.onlyIn = true
		case "out":
			s.onlyOut = true
		default:
			return s, fmt.Errorf("FlowStreamHandler: only_directions filter contained an invalid/unsupported direction: %s", d)
		}
	}
	if s.onlyIn && s.onlyOut {
		s.onlyIn, s.onlyOut = false, false // both directions: no filter
	}
	if err := s.parseOnlyIfaces(cfg); err != nil {
		return s, err
	}
	if err := s.parseDeviceMap(cfg); err != nil {
		return s, err
	}
	return s, nil
}

func prefixes(cfg handler.Config, key string) ([]netip.Prefix, error) {
	list, err := cfg.StringList(key)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, v := range list {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("FlowHandler: invalid CIDR in '%s': %s", key, v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// parseRange reads "n", "a-b" or "*" (everything up to max).
func parseRange(s string, max uint64) (portRange, bool) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return portRange{0, uint32(max)}, true
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	if err != nil {
		return portRange{}, false
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(strings.TrimSpace(b), 10, 32); err != nil || hi < lo {
			return portRange{}, false
		}
	}
	if hi > max {
		return portRange{}, false
	}
	return portRange{uint32(lo), uint32(hi)}, true
}

func (s *settings) parseOnlyIfaces(cfg handler.Config) error {
	m, err := cfg.Map("only_device_interfaces")
	if err != nil || m == nil {
		return err
	}
	s.onlyIfaces = map[netip.Addr][]portRange{}
	for dev := range m {
		a, err := netip.ParseAddr(dev)
		if err != nil {
			return fmt.Errorf("FlowHandler: 'only_device_interfaces' filter has an invalid device IP: %s", dev)
		}
		list, err := m.StringList(dev)
		if err != nil {
			return err
		}
		var rs []portRange
		for _, v := range list {
			r, ok := parseRange(v, 0xffffffff)
			if !ok {
				return fmt.Errorf("FlowHandler: invalid 'only_device_interfaces' filter interface value: %s", v)
			}
			rs = append(rs, r)
		}
		s.onlyIfaces[a] = rs
	}
	return nil
}

func (s *settings) parseDeviceMap(cfg handler.Config) error {
	m, err := cfg.Map("device_map")
	if err != nil || m == nil {
		return err
	}
	s.deviceMap = map[netip.Addr]deviceInfo{}
	for dev := range m {
		a, err := netip.ParseAddr(dev)
		if err != nil {
			return fmt.Errorf("FlowHandler: 'device_map' config has an invalid device IP: %s", dev)
		}
		d, err := m.Map(dev)
		if err != nil {
			return err
		}
		info := deviceInfo{interfaces: map[uint32]string{}}
		if info.name, err = d.String("name", dev); err != nil {
			return err
		}
		ifs, err := d.Map("interfaces")
		if err != nil {
			return err
		}
		for idx := range ifs {
			n, err := strconv.ParseUint(idx, 10, 32)
			if err != nil {
				return fmt.Errorf("FlowHandler: 'device_map' interface index is not a number: %s", idx)
			}
			im, err := ifs.Map(idx)
			if err != nil {
				return err
			}
			name, err := im.String("name", idx)
			if err != nil {
				return err
			}
			info.interfaces[uint32(n)] = name
		}
		s.deviceMap[a] = info
	}
	return nil
}

func inRanges(rs []portRange, v uint32) bool {
	return slices.ContainsFunc(rs, func(r portRange) bool { return v >= r.lo && v <= r.hi })
}
