package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/visorng/visor/decode"
)

type linkKind uint8

const (
	kindEther linkKind = iota
	kindSLL            // link-type field at a fixed offset, like Ethernet
	kindRaw            // version nibble decides
	kindIPv4
	kindIPv6
	kindNull // 4-byte address family
)

// linkInfo holds where the link-layer type and the network header start.
// Like libpcap, each `vlan` moves both 4 bytes further for everything parsed
// after it.
type linkInfo struct {
	kind  linkKind
	ltOff uint32 // offset of the EtherType-like field
	pl    uint32 // offset of the network-layer header
	name  string
}

func linkFor(lt decode.LinkType) (linkInfo, error) {
	switch lt {
	case decode.LinkEthernet:
		return linkInfo{kindEther, 12, 14, "Ethernet"}, nil
	case decode.LinkLinuxSLL:
		return linkInfo{kindSLL, 14, 16, "Linux cooked v1"}, nil
	case decode.LinkLinuxSLL2:
		return linkInfo{kindSLL, 0, 20, "Linux cooked v2"}, nil
	case decode.LinkRaw:
		return linkInfo{kindRaw, 0, 0, "raw IP"}, nil
	case decode.LinkIPv4:
		return linkInfo{kindIPv4, 0, 0, "raw IPv4"}, nil
	case decode.LinkIPv6:
		return linkInfo{kindIPv6, 0, 0, "raw IPv6"}, nil
	case decode.LinkNull:
		return linkInfo{kindNull, 0, 4, "BSD loopback"}, nil
	}
	return linkInfo{}, fmt.Errorf("%w: link type %d", ErrUnsupported, lt)
}

const (
	etherIP   = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
	etherRARP = 0x8035

	protoICMP   = 1
	protoIGMP   = 2
	protoTCP    = 6
	protoUDP    = 17
	protoFrag6  = 44
	protoICMPv6 = 58
	protoSCTP   = 132
)

type dirQual uint8

const (
	dirSrcOrDst dirQual = iota
	dirSrc
	dirDst
	dirSrcAndDst
)

// qual is the qualifier set of a primitive (proto, direction, type). A bare
// id after and/or/not reuses the previous primitive's qualifiers, as in
// `port 53 or 5353`.
type qual struct {
	proto string // "" = any
	dir   dirQual
	typ   string // host, net, port, portrange
}

type parser struct {
	toks []token
	i    int
	link linkInfo
	// last holds the qualifiers a bare id inherits; lastOK is false after
	// primitives that carry none (tcp, vlan, relations).
	last   qual
	lastOK bool
}

func (p *parser) peek() token          { return p.toks[p.i] }
func (p *parser) peekN(n int) token    { return p.toks[min(p.i+n, len(p.toks)-1)] }
func (p *parser) next() token          { t := p.toks[p.i]; p.i = min(p.i+1, len(p.toks)-1); return t }
func (p *parser) isWord(s string) bool { return isKw(p.peek(), s) }

func isKw(t token, s string) bool    { return t.kind == tokWord && !t.escaped && t.text == s }
func isPunct(t token, s string) bool { return t.kind == tokPunct && t.text == s }

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// parse parses a whole expression.
func (p *parser) parse() (node, error) {
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf("unexpected %s", t)
	}
	return n, nil
}

// parseExpr: and/or have equal precedence and associate left to right
// (pcap-filter(7)).
func (p *parser) parseExpr() (node, error) {
	n, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		var isAnd bool
		switch {
		case isKw(t, "and") || isPunct(t, "&&"):
			isAnd = true
		case isKw(t, "or") || isPunct(t, "||"):
		default:
			return n, nil
		}
		p.next()
		m, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if isAnd {
			n = andNode{n, m}
		} else {
			n = orNode{n, m}
		}
	}
}

func (p *parser) parseUnary() (node, error) {
	if t := p.peek(); isKw(t, "not") || isPunct(t, "!") {
		p.next()
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return not(n), nil
	}
	return p.parsePrimary()
}

var relops = map[string]bool{">": true, "<": true, ">=": true, "<=": true, "=": true, "==": true, "!=": true}

func (p *parser) parsePrimary() (node, error) {
	start := p.i
	// A relation (ip[0] & 0xf != 5, len > 100, (tcp[13]) = 2) is tried
	// first; if what follows is not arithmetic and a relational operator,
	// the tokens are read again as a boolean primary.
	committed := p.peekN(1).kind == tokPunct && p.peekN(1).text == "[" || isKw(p.peek(), "len")
	l, err := p.parseArith()
	if err == nil && p.peek().kind == tokPunct && relops[p.peek().text] {
		op := p.next().text
		r, err := p.parseArith()
		if err != nil {
			return nil, err
		}
		p.lastOK = false
		return p.relation(op, l, r)
	}
	if err != nil && committed {
		return nil, err
	}
	if err == nil && committed {
		return nil, p.errorf("expected a relational operator, got %s", p.peek())
	}
	p.i = start

	t := p.peek()
	if isPunct(t, "(") {
		p.next()
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if !isPunct(p.peek(), ")") {
			return nil, p.errorf("expected ')', got %s", p.peek())
		}
		p.next()
		return n, nil
	}
	if t.kind != tokWord {
		return nil, p.errorf("unexpected %s", t)
	}
	return p.parsePrimitive()
}

var protoQuals = map[string]bool{
	"ether": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true, "igmp": true,
}

var typeQuals = map[string]bool{"host": true, "net": true, "port": true, "portrange": true}

// unsupportedWords are pcap-filter primitives this compiler does not
// implement; they fail loudly rather than being read as host names.
var unsupportedWords = map[string]bool{
	"broadcast": true, "multicast": true, "gateway": true, "mpls": true, "pppoed": true,
	"pppoes": true, "geneve": true, "inbound": true, "outbound": true, "ifname": true,
	"on": true, "rnr": true, "rulenum": true, "reason": true, "rset": true, "ruleset": true,
	"srnr": true, "subrulenum": true, "action": true, "wlan": true, "type": true, "subtype": true,
	"dir": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true, "ra": true, "ta": true,
	"fddi": true, "tr": true, "decnet": true, "iso": true, "esis": true, "isis": true, "clnp": true,
	"stp": true, "ipx": true, "netbeui": true, "lat": true, "moprc": true, "mopdl": true, "atalk": true,
	"aarp": true, "sca": true, "llc": true, "ah": true, "esp": true, "pim": true, "vrrp": true, "carp": true,
	"radio": true, "slip": true, "link": true, "ppp": true, "protochain": true, "atm": true,
	"lane": true, "oamf4": true, "metac": true, "bcc": true, "sc": true, "ilmic": true, "connectmsg": true,
	"metaconnect": true, "vpi": true, "vci": true, "hdpe": true, "fisu": true, "lssu": true, "msu": true,
	"sio": true, "opc": true, "dpc": true, "sls": true, "l1": true, "l2": true, "iih": true, "snp": true,
	"csnp": true, "psnp": true, "lsp": true, "vxlan": true,
}

func (p *parser) parsePrimitive() (node, error) {
	t := p.peek()
	if !t.escaped {
		switch t.text {
		case "vlan":
			return p.parseVLAN()
		case "greater", "less":
			p.next()
			v, err := p.number()
			if err != nil {
				return nil, err
			}
			p.lastOK = false
			a := &atom{pre: []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}, k: v}
			if t.text == "greater" {
				a.cond = bpf.JumpGreaterOrEqual
				return a, nil
			}
			a.cond = bpf.JumpGreaterThan
			return not(a), nil
		case "proto":
			p.next()
			return p.protoPrimitive("")
		}
		if unsupportedWords[t.text] {
			return nil, fmt.Errorf("%w: primitive %q", ErrUnsupported, t.text)
		}
	}

	q := qual{}
	explicit := false
	if !t.escaped && protoQuals[t.text] {
		p.next()
		q.proto = t.text
		explicit = true
		if p.isWord("proto") {
			p.next()
			return p.protoPrimitive(q.proto)
		}
		nt := p.peek()
		if !(nt.kind == tokWord && (nt.escaped || !isKeyword(nt.text))) && !isKw(nt, "src") && !isKw(nt, "dst") &&
			!(nt.kind == tokWord && typeQuals[nt.text]) {
			p.lastOK = false
			return p.bareProto(q.proto)
		}
	}
	if isKw(p.peek(), "src") || isKw(p.peek(), "dst") {
		first := p.next().text
		q.dir = dirSrc
		if first == "dst" {
			q.dir = dirDst
		}
		explicit = true
		if (isKw(p.peek(), "or") || isKw(p.peek(), "and")) && (isKw(p.peekN(1), "src") || isKw(p.peekN(1), "dst")) &&
			p.peekN(1).text != first {
			if p.next().text == "or" {
				q.dir = dirSrcOrDst
			} else {
				q.dir = dirSrcAndDst
			}
			p.next()
		}
	}
	if nt := p.peek(); isKw(nt, "host") || isKw(nt, "net") || isKw(nt, "port") || isKw(nt, "portrange") {
		q.typ = p.next().text
		explicit = true
	}
	if q.typ == "" {
		q.typ = "host"
	}
	if !explicit {
		// A bare id: inherit the previous primitive's qualifiers.
		if !p.lastOK {
			return nil, p.errorf("%s needs a qualifier (host, port, ...)", p.peek())
		}
		q = p.last
	}
	idTok := p.peek()
	if idTok.kind != tokWord || (!idTok.escaped && isKeyword(idTok.text)) {
		return nil, p.errorf("expected an address, number or name, got %s", idTok)
	}
	p.next()
	n, err := p.qualified(q, idTok.text)
	if err != nil {
		return nil, err
	}
	p.last, p.lastOK = q, true
	return n, nil
}

func isKeyword(s string) bool {
	switch s {
	case "and", "or", "not", "src", "dst", "proto", "vlan", "greater", "less", "len", "mask":
		return true
	}
	return protoQuals[s] || typeQuals[s] || unsupportedWords[s]
}

func (p *parser) number() (uint32, error) {
	t := p.peek()
	if t.kind != tokWord {
		return 0, p.errorf("expected a number, got %s", t)
	}
	v, ok := parseNum(t.text)
	if !ok {
		return 0, p.errorf("expected a number, got %s", t)
	}
	p.next()
	return v, nil
}

// parseNum reads decimal, 0x hex and 0-prefixed octal like libpcap.
func parseNum(s string) (uint32, bool) {
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, base, 32)
	return uint32(v), err == nil
}

func (p *parser) parseVLAN() (node, error) {
	p.next()
	if p.link.kind != kindEther {
		return nil, fmt.Errorf("%w: no VLAN support for %s", ErrUnsupported, p.link.name)
	}
	off := p.link.ltOff
	n := or(p.cmp(off, 2, 0, 0x8100), p.cmp(off, 2, 0, 0x88a8), p.cmp(off, 2, 0, 0x9100))
	if t := p.peek(); t.kind == tokWord {
		if id, ok := parseNum(t.text); ok {
			p.next()
			if id > 4095 {
				return nil, p.errorf("VLAN tag %d greater than maximum 4095", id)
			}
			n = and(n, p.cmp(off+2, 2, 0x0fff, id))
		}
	}
	p.link.ltOff += 4
	p.link.pl += 4
	p.lastOK = false
	return n, nil
}

// cmp loads size bytes at off, masks them (mask 0 = none) and compares.
func (p *parser) cmp(off, size, mask, val uint32) *atom {
	pre := []bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: int(size)}}
	if mask != 0 {
		pre = append(pre, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
	}
	return &atom{pre: pre, cond: bpf.JumpEqual, k: val}
}

// linkProto tests the link-layer protocol (an EtherType).
func (p *parser) linkProto(et uint32) node {
	l := p.link
	switch l.kind {
	case kindEther, kindSLL:
		return p.cmp(l.ltOff, 2, 0, et)
	case kindRaw:
		switch et {
		case etherIP:
			return p.cmp(0, 1, 0xf0, 0x40)
		case etherIPv6:
			return p.cmp(0, 1, 0xf0, 0x60)
		}
	case kindIPv4:
		return constNode(et == etherIP)
	case kindIPv6:
		return constNode(et == etherIPv6)
	case kindNull:
		// The family is in the writer's byte order; accept both.
		var fams []uint32
		switch et {
		case etherIP:
			fams = []uint32{2}
		case etherIPv6:
			fams = []uint32{24, 28, 30} // the BSDs disagree on AF_INET6
		}
		var ns []node
		for _, f := range fams {
			ns = append(ns, p.cmp(0, 4, 0, f<<24), p.cmp(0, 4, 0, f))
		}
		return or(ns...)
	}
	return constNode(false)
}

func (p *parser) ip4Proto(proto uint32) node {
	return and(p.linkProto(etherIP), p.cmp(p.link.pl+9, 1, 0, proto))
}

// ip6Proto follows libpcap: the next header, or the one after a fragment
// header.
func (p *parser) ip6Proto(proto uint32) node {
	pl := p.link.pl
	return and(p.linkProto(etherIPv6), or(p.cmp(pl+6, 1, 0, proto),
		and(p.cmp(pl+6, 1, 0, protoFrag6), p.cmp(pl+40, 1, 0, proto))))
}

func (p *parser) notFragment() node {
	return not(&atom{pre: []bpf.Instruction{bpf.LoadAbsolute{Off: p.link.pl + 6, Size: 2}}, cond: bpf.JumpBitsSet, k: 0x1fff})
}

func (p *parser) bareProto(proto string) (node, error) {
	switch proto {
	case "ip":
		return p.linkProto(etherIP), nil
	case "ip6":
		return p.linkProto(etherIPv6), nil
	case "arp":
		return p.linkProto(etherARP), nil
	case "rarp":
		return p.linkProto(etherRARP), nil
	case "tcp":
		return or(p.ip4Proto(protoTCP), p.ip6Proto(protoTCP)), nil
	case "udp":
		return or(p.ip4Proto(protoUDP), p.ip6Proto(protoUDP)), nil
	case "sctp":
		return or(p.ip4Proto(protoSCTP), p.ip6Proto(protoSCTP)), nil
	case "icmp":
		return p.ip4Proto(protoICMP), nil
	case "igmp":
		return p.ip4Proto(protoIGMP), nil
	case "icmp6":
		return p.ip6Proto(protoICMPv6), nil
	}
	return nil, p.errorf("%q needs an address or subfield", proto)
}

var ipProtoNames = map[string]uint32{
	"icmp": protoICMP, "igmp": protoIGMP, "tcp": protoTCP, "udp": protoUDP, "sctp": protoSCTP,
	"icmp6": protoICMPv6, "gre": 47, "esp": 50, "ah": 51, "ospf": 89, "pim": 103, "vrrp": 112,
}

var etherProtoNames = map[string]uint32{"ip": etherIP, "ip6": etherIPv6, "arp": etherARP, "rarp": etherRARP}

// protoPrimitive handles `[ether|ip|ip6] proto N`.
func (p *parser) protoPrimitive(qual string) (node, error) {
	t := p.peek()
	if t.kind != tokWord {
		return nil, p.errorf("expected a protocol after 'proto', got %s", t)
	}
	p.next()
	p.lastOK = false
	v, isNum := parseNum(t.text)
	if qual == "ether" {
		if !isNum {
			if v, isNum = etherProtoNames[t.text]; !isNum {
				return nil, p.errorf("unknown ether proto %q", t.text)
			}
		}
		if v > 0xffff {
			return nil, p.errorf("ether proto %d out of range", v)
		}
		return p.linkProto(v), nil
	}
	if !isNum {
		if v, isNum = ipProtoNames[t.text]; !isNum {
			return nil, p.errorf("unknown protocol %q", t.text)
		}
	}
	if v > 255 {
		return nil, p.errorf("protocol %d out of range", v)
	}
	switch qual {
	case "":
		return or(p.ip4Proto(v), p.ip6Proto(v)), nil
	case "ip":
		return p.ip4Proto(v), nil
	case "ip6":
		return p.ip6Proto(v), nil
	}
	return nil, p.errorf("'%s proto' is not valid", qual)
}

func dirCombine(d dirQual, src, dst node) node {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirSrcAndDst:
		return and(src, dst)
	}
	return or(src, dst)
}

// qualified builds host/net/port/portrange primitives.
func (p *parser) qualified(q qual, id string) (node, error) {
	switch q.typ {
	case "host", "net":
		if mac, ok := parseMAC(id); ok && q.typ == "host" {
			if q.proto != "" && q.proto != "ether" {
				return nil, p.errorf("'%s' modifier applied to ethernet address", q.proto)
			}
			return p.etherHost(q.dir, mac)
		}
		if q.proto == "ether" {
			return nil, p.errorf("%q is not an ethernet address", id)
		}
		if q.typ == "net" {
			return p.netPrimitive(q, id)
		}
		if v, ok := parseNum(id); ok {
			return p.hostV4(q, v, 0xffffffff)
		}
		addr, err := netip.ParseAddr(id)
		if err != nil {
			if strings.ContainsAny(id, ":") {
				return nil, p.errorf("bad address %q", id)
			}
			return nil, fmt.Errorf("%w: host name %q (names are not resolved; use an address)", ErrUnsupported, id)
		}
		if addr.Zone() != "" {
			return nil, p.errorf("bad address %q", id)
		}
		if addr.Is4() {
			return p.hostV4(q, be32(addr.As4()), 0xffffffff)
		}
		return p.hostV6(q, addr.As16(), 128)
	case "port", "portrange":
		lo, hi, err := p.portSpec(q.typ, id)
		if err != nil {
			return nil, err
		}
		return p.ports(q, lo, hi)
	}
	return nil, p.errorf("unknown qualifier %q", q.typ)
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func parseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return mac, false
	}
	for i, part := range parts {
		if len(part) < 1 || len(part) > 2 {
			return mac, false
		}
		v, err := strconv.ParseUint(part, 16, 8)
		if err != nil {
			return mac, false
		}
		mac[i] = byte(v)
	}
	return mac, true
}

func (p *parser) etherHost(d dirQual, mac [6]byte) (node, error) {
	if p.link.kind != kindEther {
		return nil, fmt.Errorf("%w: ethernet address on %s", ErrUnsupported, p.link.name)
	}
	at := func(off uint32) node {
		lo := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
		hi := uint32(mac[0])<<8 | uint32(mac[1])
		return and(p.cmp(off+2, 4, 0, lo), p.cmp(off, 2, 0, hi))
	}
	return dirCombine(d, at(6), at(0)), nil
}

func (p *parser) hostV4(q qual, addr, mask uint32) (node, error) {
	if addr&^mask != 0 {
		return nil, p.errorf("non-network bits set in %#08x/%#08x", addr, mask)
	}
	m := mask
	if m == 0xffffffff {
		m = 0
	}
	pl := p.link.pl
	part := func(et, srcOff, dstOff uint32) node {
		if mask == 0 {
			// net 0/0 still needs the protocol, like libpcap.
			return p.linkProto(et)
		}
		return and(p.linkProto(et), dirCombine(q.dir, p.cmp(pl+srcOff, 4, m, addr), p.cmp(pl+dstOff, 4, m, addr)))
	}
	switch q.proto {
	case "":
		return or(part(etherIP, 12, 16), part(etherARP, 14, 24), part(etherRARP, 14, 24)), nil
	case "ip":
		return part(etherIP, 12, 16), nil
	case "arp":
		return part(etherARP, 14, 24), nil
	case "rarp":
		return part(etherRARP, 14, 24), nil
	}
	return nil, p.errorf("'%s' modifier applied to ip host", q.proto)
}

func (p *parser) hostV6(q qual, addr [16]byte, bits int) (node, error) {
	if q.proto != "" && q.proto != "ip6" {
		return nil, p.errorf("'%s' modifier applied to ip6 host", q.proto)
	}
	pfx, err := netip.AddrFrom16(addr).Prefix(bits)
	if err != nil || pfx.Addr().As16() != addr {
		return nil, p.errorf("non-network bits set in %s/%d", netip.AddrFrom16(addr), bits)
	}
	pl := p.link.pl
	words := func(off uint32) node {
		var ns []node
		for w := range 4 {
			wbits := min(max(bits-32*w, 0), 32)
			if wbits == 0 {
				continue
			}
			mask := uint32(0)
			if wbits < 32 {
				mask = ^uint32(0) << (32 - wbits)
			}
			v := be32([4]byte(addr[4*w : 4*w+4]))
			ns = append(ns, p.cmp(off+uint32(4*w), 4, mask, v))
		}
		return and(ns...)
	}
	return and(p.linkProto(etherIPv6), dirCombine(q.dir, words(pl+8), words(pl+24))), nil
}

func (p *parser) netPrimitive(q qual, id string) (node, error) {
	// IPv6: addr[/len]
	if strings.Contains(id, ":") {
		addr, err := netip.ParseAddr(id)
		if err != nil || addr.Zone() != "" {
			return nil, p.errorf("bad IPv6 network %q", id)
		}
		bits := 128
		if isPunct(p.peek(), "/") {
			p.next()
			v, err := p.number()
			if err != nil {
				return nil, err
			}
			if v > 128 {
				return nil, p.errorf("mask length must be <= 128")
			}
			bits = int(v)
		}
		return p.hostV6(q, addr.As16(), bits)
	}
	addr, bitsImplied, ok := parsePartialV4(id)
	if !ok {
		return nil, fmt.Errorf("%w: network name %q (names are not resolved)", ErrUnsupported, id)
	}
	mask := uint32(0)
	if bitsImplied > 0 {
		mask = ^uint32(0) << (32 - bitsImplied)
	}
	switch {
	case isPunct(p.peek(), "/"):
		p.next()
		v, err := p.number()
		if err != nil {
			return nil, err
		}
		if v > 32 {
			return nil, p.errorf("mask length must be <= 32")
		}
		mask = 0
		if v > 0 {
			mask = ^uint32(0) << (32 - v)
		}
	case p.isWord("mask"):
		p.next()
		t := p.next()
		m, err := netip.ParseAddr(t.text)
		if err != nil || !m.Is4() {
			return nil, p.errorf("bad mask %s", t)
		}
		mask = be32(m.As4())
	}
	return p.hostV4(q, addr, mask)
}

// parsePartialV4 reads "10", "10.1", "10.1.2" or "10.1.2.3" as a network
// whose implied prefix covers the given octets (libpcap's rule), and a
// plain number as libpcap does: shifted left past leading zero octets.
func parsePartialV4(s string) (addr uint32, bits uint32, ok bool) {
	if !strings.Contains(s, ".") {
		v, ok := parseNum(s)
		if !ok {
			return 0, 0, false
		}
		bits = 32
		for v != 0 && v&0xff000000 == 0 {
			v <<= 8
			bits -= 8
		}
		return v, bits, true
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, 0, false
	}
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil {
			return 0, 0, false
		}
		addr = addr<<8 | uint32(n)
	}
	bits = uint32(8 * len(parts))
	addr <<= 32 - bits
	return addr, bits, true
}

var portNames = map[string]uint32{"domain": 53}

func (p *parser) portSpec(typ, id string) (lo, hi uint32, err error) {
	one := func(s string) (uint32, error) {
		if v, ok := parseNum(s); ok {
			if v > 65535 {
				return 0, p.errorf("port %d out of range", v)
			}
			return v, nil
		}
		if v, ok := portNames[s]; ok {
			return v, nil
		}
		return 0, fmt.Errorf("%w: port name %q (use a number)", ErrUnsupported, s)
	}
	if typ == "port" {
		v, err := one(id)
		return v, v, err
	}
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, p.errorf("port range %q needs the form lo-hi", id)
	}
	if lo, err = one(a); err != nil {
		return 0, 0, err
	}
	if hi, err = one(b); err != nil {
		return 0, 0, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}

// ports follows libpcap: TCP, UDP and SCTP unless narrowed; IPv6 reads the
// ports right after a fixed 40-byte header; IPv4 skips non-first fragments
// and honours the header length.
func (p *parser) ports(q qual, lo, hi uint32) (node, error) {
	var protos []uint32
	switch q.proto {
	case "":
		protos = []uint32{protoSCTP, protoTCP, protoUDP}
	case "tcp":
		protos = []uint32{protoTCP}
	case "udp":
		protos = []uint32{protoUDP}
	case "sctp":
		protos = []uint32{protoSCTP}
	default:
		return nil, p.errorf("illegal qualifier of 'port': %q", q.proto)
	}
	pl := p.link.pl
	test := func(load func(off uint32) []bpf.Instruction, off uint32) node {
		if lo == hi {
			return &atom{pre: load(off), cond: bpf.JumpEqual, k: lo}
		}
		return and(&atom{pre: load(off), cond: bpf.JumpGreaterOrEqual, k: lo},
			not(&atom{pre: load(off), cond: bpf.JumpGreaterThan, k: hi}))
	}
	var alts []node
	{
		load := func(off uint32) []bpf.Instruction {
			return []bpf.Instruction{bpf.LoadAbsolute{Off: pl + 40 + off, Size: 2}}
		}
		var pr []node
		for _, proto := range protos {
			pr = append(pr, p.cmp(pl+6, 1, 0, proto))
		}
		alts = append(alts, and(p.linkProto(etherIPv6), or(pr...), dirCombine(q.dir, test(load, 0), test(load, 2))))
	}
	{
		load := func(off uint32) []bpf.Instruction {
			return []bpf.Instruction{bpf.LoadMemShift{Off: pl}, bpf.LoadIndirect{Off: pl + off, Size: 2}}
		}
		var pr []node
		for _, proto := range protos {
			pr = append(pr, p.cmp(pl+9, 1, 0, proto))
		}
		alts = append(alts, and(p.linkProto(etherIP), or(pr...), p.notFragment(), dirCombine(q.dir, test(load, 0), test(load, 2))))
	}
	return or(alts...), nil
}
