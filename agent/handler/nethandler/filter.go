package nethandler

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode"
)

// Keys are the config/filter keys net v1 and v2 accept beyond the common ones.
var configKeys = []string{"geoloc_notfound", "asn_notfound", "only_geoloc_prefix", "only_asn_number"}

// geoFilter implements the net handler's geo and ASN filters: a packet
// passes when its remote address's location (or ASN) string starts with one
// of the configured prefixes.
type geoFilter struct {
	geoPrefixes []string
	asnPrefixes []string
}

func parseGeoFilter(cfg handler.Config) (geoFilter, error) {
	var f geoFilter
	if on, err := cfg.Bool("geoloc_notfound", false); err != nil {
		return f, err
	} else if on {
		f.geoPrefixes = append(f.geoPrefixes, "Unknown")
	}
	geo, err := cfg.StringList("only_geoloc_prefix")
	if err != nil {
		return f, err
	}
	f.geoPrefixes = append(f.geoPrefixes, geo...)
	if on, err := cfg.Bool("asn_notfound", false); err != nil {
		return f, err
	} else if on {
		f.asnPrefixes = append(f.asnPrefixes, "Unknown")
	}
	asns, err := cfg.StringList("only_asn_number")
	if err != nil {
		return f, err
	}
	for _, a := range asns {
		if a == "" || strings.Trim(a, "0123456789") != "" {
			return f, fmt.Errorf("NetStreamHandler: only_asn_number filter contained an invalid/unsupported value: %s", a)
		}
		f.asnPrefixes = append(f.asnPrefixes, a+"/")
	}
	return f, nil
}

func (f *geoFilter) active() bool { return len(f.geoPrefixes) > 0 || len(f.asnPrefixes) > 0 }

// remote returns the address on the far side from the host, if known.
func remote(p *decode.Packet) (netip.Addr, bool) {
	switch p.Dir {
	case decode.DirIn:
		return p.Src, true
	case decode.DirOut:
		return p.Dst, true
	}
	return netip.Addr{}, false
}

// pass applies the filters. Missing databases or an unknown direction fail
// an active filter, as in pktvisor.
func (f *geoFilter) pass(p *decode.Packet, e handler.Enricher) bool {
	if !f.active() {
		return true
	}
	addr, ok := remote(p)
	if !ok || e == nil {
		return false
	}
	if len(f.geoPrefixes) > 0 {
		loc, ok := e.City(addr)
		if !ok || !hasAnyPrefix(loc.Name, f.geoPrefixes) {
			return false
		}
	}
	if len(f.asnPrefixes) > 0 {
		asn, ok := e.ASN(addr)
		if !ok || !hasAnyPrefix(asn, f.asnPrefixes) {
			return false
		}
	}
	return true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Pass lets a chained policy forward only the packets this handler's geo and
// ASN filters accept (handler.Passer).
func (h *V1) Pass(p *decode.Packet) bool { return h.filter.pass(p, h.enrich) }

// Pass is V1.Pass for version 2.
func (h *V2) Pass(p *decode.Packet) bool { return h.filter.pass(p, h.enrich) }

var (
	_ handler.Passer = (*V1)(nil)
	_ handler.Passer = (*V2)(nil)
)
