package enrich

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Services maps transport ports to IANA service names (flow handler port
// labels). Entries are port ranges per protocol; a single port is a range of
// one.
type Services struct {
	tcp, udp []portRange // sorted by hi, first occurrence of a hi wins
}

type portRange struct {
	lo, hi uint16
	name   string
}

// Proto selects the table.
type Proto uint8

const (
	TCP Proto = iota
	UDP
)

// LoadServices reads an IANA "Service Name and Transport Protocol Port
// Number Registry" CSV: the columns Service Name, Port Number and Transport
// Protocol are used; rows missing a name or port, or for protocols other
// than tcp/udp, are skipped; "a-b" ranges are allowed.
func LoadServices(r io.Reader) (*Services, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("service registry header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	nameC, okN := col["Service Name"]
	portC, okP := col["Port Number"]
	protoC, okT := col["Transport Protocol"]
	if !okN || !okP || !okT {
		return nil, errors.New("service registry: header lacks Service Name, Port Number or Transport Protocol")
	}
	s := &Services{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("service registry line %d: %w", line, err)
		}
		if max(nameC, portC, protoC) >= len(rec) {
			continue
		}
		name, port, proto := strings.TrimSpace(rec[nameC]), strings.TrimSpace(rec[portC]), strings.TrimSpace(rec[protoC])
		if name == "" || port == "" {
			continue
		}
		lo, hi, ok := parseRange(port)
		if !ok {
			continue
		}
		switch proto {
		case "tcp":
			s.tcp = append(s.tcp, portRange{lo, hi, name})
		case "udp":
			s.udp = append(s.udp, portRange{lo, hi, name})
		}
	}
	s.tcp, s.udp = index(s.tcp), index(s.udp)
	return s, nil
}

// LoadServicesFile is LoadServices on a file.
func LoadServicesFile(path string) (*Services, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("service registry: %w", err)
	}
	defer f.Close()
	s, err := LoadServices(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func parseRange(s string) (lo, hi uint16, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	l, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, false
	}
	h := l
	if isRange {
		if h, err = strconv.ParseUint(b, 10, 16); err != nil || h < l {
			return 0, 0, false
		}
	}
	return uint16(l), uint16(h), true
}

// index keeps the first entry per upper bound, sorted by upper bound.
func index(rs []portRange) []portRange {
	slices.SortStableFunc(rs, func(a, b portRange) int { return int(a.hi) - int(b.hi) })
	return slices.CompactFunc(rs, func(a, b portRange) bool { return a.hi == b.hi })
}

// Name returns the service name for port, or its decimal form.
func (s *Services) Name(proto Proto, port uint16) string {
	if s != nil {
		rs := s.tcp
		if proto == UDP {
			rs = s.udp
		}
		i, _ := slices.BinarySearchFunc(rs, port, func(r portRange, p uint16) int { return int(r.hi) - int(p) })
		if i < len(rs) && (rs[i].hi == port || port >= rs[i].lo) {
			return rs[i].name
		}
	}
	return strconv.Itoa(int(port))
}

// ServiceName implements handler.ServiceNamer: TCP for protocol 6, UDP for
// everything else (pktvisor looks non-TCP ports up in the UDP table).
func (s *Services) ServiceName(proto uint8, port uint16) string {
	if proto == 6 {
		return s.Name(TCP, port)
	}
	return s.Name(UDP, port)
}

// Len counts the entries of both protocols.
func (s *Services) Len() int { return len(s.tcp) + len(s.udp) }

// DefaultServices is the built-in registry used without
// --iana-service-port-registry: well-known services every edge operator
// sees, plus pktvisor's summary ranges for the registered and dynamic
// port space so high ports do not flood top-N lists with numbers.
func DefaultServices() *Services {
	s := &Services{}
	add := func(name string, lo, hi uint16) {
		s.tcp = append(s.tcp, portRange{lo, hi, name})
		s.udp = append(s.udp, portRange{lo, hi, name})
	}
	for _, e := range []struct {
		name string
		port uint16
	}{
		{"ftp-data", 20}, {"ftp", 21}, {"ssh", 22}, {"telnet", 23}, {"smtp", 25}, {"domain", 53},
		{"bootps", 67}, {"bootpc", 68}, {"tftp", 69}, {"http", 80}, {"kerberos", 88}, {"pop3", 110},
		{"sunrpc", 111}, {"ntp", 123}, {"netbios-ns", 137}, {"imap", 143}, {"snmp", 161}, {"snmptrap", 162},
		{"bgp", 179}, {"ldap", 389}, {"https", 443}, {"microsoft-ds", 445}, {"isakmp", 500}, {"syslog", 514},
		{"submission", 587}, {"ldaps", 636}, {"domain-s", 853}, {"imaps", 993}, {"pop3s", 995},
		{"openvpn", 1194}, {"ms-sql-s", 1433}, {"radius", 1812}, {"radius-acct", 1813}, {"nfs", 2049},
		{"cflow", 2055}, {"mysql", 3306}, {"ms-wbt-server", 3389}, {"ipfix", 4739}, {"ipsec-nat-t", 4500},
		{"sip", 5060}, {"sips", 5061}, {"postgresql", 5432}, {"mdns", 5353}, {"llmnr", 5355},
		{"sflow", 6343}, {"http-alt", 8080}, {"pktvisor", 10853},
	} {
		add(e.name, e.port, e.port)
	}
	add("registered-1k", 1024, 9999)
	add("registered-10k", 10000, 19999)
	add("registered-20k", 20000, 29999)
	add("registered-30k", 30000, 39999)
	add("registered-40k", 40000, 49151)
	add("dynamic-client", 49152, 65535)
	// Specific ports inside the summary ranges must win: index keeps the
	// first entry per upper bound, and lookups pick the smallest upper
	// bound at or above the port, so single ports shadow their range.
	s.tcp, s.udp = index(s.tcp), index(s.udp)
	return s
}
