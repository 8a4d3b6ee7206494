package dnshandler

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode/dns"
)

// DefaultPorts are the ports pktvisor recognises as DNS.
var DefaultPorts = []uint16{53, 5353, 5355, 53000}

// Defaults of the keys this package adds.
const (
	DefaultXactTTL     = 5000 * time.Millisecond
	DefaultMaxOpenXact = 1 << 20
)

// Keys pktvisor accepts for dns v1, then the ones this implementation adds
// (public_suffix_list_file, dns_ports, xact_max_open).
var configKeysV1 = []string{"exclude_noerror", "only_rcode", "only_queries", "only_responses", "only_dnssec_response",
	"answer_count", "only_qtype", "only_qname", "only_qname_suffix", "geoloc_notfound", "asn_notfound",
	"dnstap_msg_type", "public_suffix_list", "xact_ttl_secs", "xact_ttl_ms",
	"public_suffix_list_file", "dns_ports", "xact_max_open"}

// v2 accepts v1's keys minus only_queries/only_responses, plus
// only_xact_directions (which pktvisor forgot to list; see doc.go).
var configKeysV2 = []string{"exclude_noerror", "only_rcode", "only_dnssec_response",
	"answer_count", "only_qtype", "only_qname", "only_qname_suffix", "geoloc_notfound", "asn_notfound",
	"dnstap_msg_type", "public_suffix_list", "xact_ttl_secs", "xact_ttl_ms", "only_xact_directions",
	"public_suffix_list_file", "dns_ports", "xact_max_open"}

// dnstapTypes maps dnstap_msg_type values to the query/response type pair.
var dnstapTypes = map[string][2]handler.DnstapType{
	"auth":      {handler.DnstapAuthQuery, handler.DnstapAuthResponse},
	"resolver":  {handler.DnstapResolverQuery, handler.DnstapResolverResponse},
	"client":    {handler.DnstapClientQuery, handler.DnstapClientResponse},
	"forwarder": {handler.DnstapForwarderQuery, handler.DnstapForwarderResponse},
	"stub":      {handler.DnstapStubQuery, handler.DnstapStubResponse},
	"tool":      {handler.DnstapToolQuery, handler.DnstapToolResponse},
	"update":    {handler.DnstapUpdateQuery, handler.DnstapUpdateResponse},
}

// settings is the parsed configuration shared by v1 and v2.
type settings struct {
	ports portSet

	excludeRcodes []uint8 // exclude_noerror
	onlyRcodes    []uint8 // only_rcode
	onlyQueries   bool
	onlyResponses bool
	onlyDNSSEC    bool
	answerCount   int // -1 when unset
	onlyQtypes    []uint16
	onlyQnames    [][]byte
	qnameSuffixes [][]byte
	geoNotFound   bool
	asnNotFound   bool
	dnstapTypes   uint32 // bit per DnstapType; 0 = no filter

	psl *dns.SuffixList

	xactTTL     time.Duration
	maxOpenXact int

	xactDirs [3]bool // only_xact_directions (v2); all true when unset
}

// portSet is a bitmap of the 65536 ports, so the per-packet test is one load.
type portSet [65536 / 64]uint64

func (s *portSet) add(p uint16)            { s[p/64] |= 1 << (p % 64) }
func (s *portSet) has(p uint16) bool       { return s[p/64]&(1<<(p%64)) != 0 }
func (s *portSet) either(a, b uint16) bool { return s.has(a) || s.has(b) }

// metricPort returns the non-DNS port of a DNS packet, as pktvisor picks it
// (the source port when the destination is a DNS port), or ok=false when
// neither port is DNS.
func (s *portSet) metricPort(src, dst uint16) (uint16, bool) {
	switch {
	case s.has(dst):
		return src, true
	case s.has(src):
		return dst, true
	}
	return 0, false
}

func errf(format string, a ...any) error {
	return fmt.Errorf("DnsStreamHandler: "+format, a...)
}

func parseSettings(cfg handler.Config, v2 bool) (*settings, error) {
	s := &settings{answerCount: -1, xactDirs: [3]bool{true, true, true}}
	for _, p := range DefaultPorts {
		s.ports.add(p)
	}
	ports, err := cfg.StringList("dns_ports")
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
		if err != nil || n == 0 {
			return nil, errf("dns_ports contained an invalid port: %s", p)
		}
		s.ports.add(uint16(n))
	}

	if on, err := cfg.Bool("exclude_noerror", false); err != nil {
		return nil, err
	} else if on {
		s.excludeRcodes = []uint8{0}
	}
	if cfg.Has("only_rcode") {
		if s.onlyRcodes, err = parseRcodes(cfg); err != nil {
			return nil, err
		}
	}
	if !v2 {
		if s.onlyQueries, err = cfg.Bool("only_queries", false); err != nil {
			return nil, err
		}
		if s.onlyResponses, err = cfg.Bool("only_responses", false); err != nil {
			return nil, err
		}
	}
	if s.onlyDNSSEC, err = cfg.Bool("only_dnssec_response", false); err != nil {
		return nil, err
	}
	if cfg.Has("answer_count") {
		n, err := cfg.Uint("answer_count", 0)
		if err != nil {
			return nil, errf("wrong value type for answer_count filter. It should be an integer")
		}
		s.answerCount = int(min(n, 1<<16))
	}
	qtypes, err := cfg.StringList("only_qtype")
	if err != nil {
		return nil, err
	}
	for _, q := range qtypes {
		t, err := parseQtype(q)
		if err != nil {
			return nil, err
		}
		s.onlyQtypes = append(s.onlyQtypes, t)
	}
	names, err := cfg.StringList("only_qname")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		s.onlyQnames = append(s.onlyQnames, []byte(normName(n)))
	}
	suffixes, err := cfg.StringList("only_qname_suffix")
	if err != nil {
		return nil, err
	}
	for _, n := range suffixes {
		s.qnameSuffixes = append(s.qnameSuffixes, []byte(strings.ToLower(n)))
	}
	if s.geoNotFound, err = cfg.Bool("geoloc_notfound", false); err != nil {
		return nil, err
	}
	if s.asnNotFound, err = cfg.Bool("asn_notfound", false); err != nil {
		return nil, err
	}
	if cfg.Has("dnstap_msg_type") {
		t, err := cfg.String("dnstap_msg_type", "")
		if err != nil {
			return nil, err
		}
		pair, ok := dnstapTypes[t]
		if !ok {
			valid := make([]string, 0, len(dnstapTypes))
			for k := range dnstapTypes {
				valid = append(valid, k)
			}
			slices.Sort(valid)
			return nil, errf("dnstap_msg_type contained an invalid/unsupported type. Valid types: %s", strings.Join(valid, ", "))
		}
		s.dnstapTypes = 1<<pair[0] | 1<<pair[1]
	}

	usePSL, err := cfg.Bool("public_suffix_list", false)
	if err != nil {
		return nil, err
	}
	pslFile, err := cfg.String("public_suffix_list_file", "")
	if err != nil {
		return nil, err
	}
	if usePSL {
		if pslFile == "" {
			return nil, errf("public_suffix_list requires public_suffix_list_file (path of a public_suffix_list.dat): this build embeds no list")
		}
		if s.psl, err = loadPSL(pslFile); err != nil {
			return nil, err
		}
	}

	s.xactTTL = DefaultXactTTL
	if cfg.Has("xact_ttl_secs") {
		n, err := cfg.Uint("xact_ttl_secs", 0)
		if err != nil {
			return nil, err
		}
		s.xactTTL = time.Duration(min(n, 86400)) * time.Second
	}
	if cfg.Has("xact_ttl_ms") {
		n, err := cfg.Uint("xact_ttl_ms", 0)
		if err != nil {
			return nil, err
		}
		s.xactTTL = time.Duration(min(n, 86400_000)) * time.Millisecond
	}
	if s.maxOpenXact, err = cfg.Int("xact_max_open", DefaultMaxOpenXact); err != nil {
		return nil, err
	}
	if s.maxOpenXact < 1 {
		return nil, errf("xact_max_open must be at least 1")
	}

	if v2 && cfg.Has("only_xact_directions") {
		dirs, err := cfg.StringList("only_xact_directions")
		if err != nil {
			return nil, err
		}
		s.xactDirs = [3]bool{}
		for _, d := range dirs {
			switch strings.ToLower(d) {
			case "unknown":
				s.xactDirs[dirUnknown] = true
			case "in":
				s.xactDirs[dirIn] = true
			case "out":
				s.xactDirs[dirOut] = true
			default:
				return nil, errf("only_xact_directions contained an invalid/unsupported direction: %s", d)
			}
		}
	}
	return s, nil
}

func loadPSL(path string) (*dns.SuffixList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("public suffix list: %w", err)
	}
	defer f.Close()
	l, err := dns.LoadSuffixList(f)
	if err != nil {
		return nil, fmt.Errorf("public suffix list %s: %w", path, err)
	}
	return l, nil
}

// normName lower-cases a configured name and drops a trailing dot, the form
// dns.Parse gives question names.
func normName(n string) string {
	n = strings.ToLower(n)
	if len(n) > 1 {
		n = strings.TrimSuffix(n, ".")
	}
	return n
}

func parseRcodes(cfg handler.Config) ([]uint8, error) {
	bad := errf("only_rcode filter contained an invalid/unsupported rcode")
	if n, err := cfg.Uint("only_rcode", 0); err == nil {
		if n > 15 || dns.RcodeName(uint16(n)) == strconv.Itoa(int(n)) {
			return nil, bad
		}
		return []uint8{uint8(n)}, nil
	}
	list, err := cfg.StringList("only_rcode")
	if err != nil {
		return nil, errf("wrong value type for only_rcode filter. It should be an integer or a list")
	}
	var out []uint8
	for _, e := range list {
		var r uint16
		if d, err := strconv.ParseUint(e, 10, 16); err == nil {
			r = uint16(d)
			if dns.RcodeName(r) == e {
				return nil, bad
			}
		} else {
			var ok bool
			if r, ok = dns.RcodeByName(strings.ToUpper(e)); !ok {
				return nil, bad
			}
		}
		// The header carries only 4 bits of rcode.
		if r > 15 {
			return nil, bad
		}
		out = append(out, uint8(r))
	}
	return out, nil
}

func parseQtype(q string) (uint16, error) {
	if q != "" && strings.Trim(q, "0123456789") == "" {
		v, err := strconv.ParseUint(q, 10, 16)
		if err != nil || dns.TypeName(uint16(v)) == q {
			return 0, errf("only_qtype filter contained an invalid/unsupported qtype: %s", q)
		}
		return uint16(v), nil
	}
	t, ok := dns.TypeByName(strings.ToUpper(q))
	if !ok {
		return 0, errf("only_qtype filter contained an invalid/unsupported qtype: %s", q)
	}
	return t, nil
}
