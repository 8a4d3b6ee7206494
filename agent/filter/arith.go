package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Arithmetic expressions of relations: proto[off:size], len, numbers and
// named constants combined with + - * / % & | ^ << >> and unary minus.
type arith interface{ isArith() }

type (
	numA uint32
	lenA struct{}
	// loadA reads size bytes at idx from a protocol header. Transport
	// headers (tcp[], udp[], ...) sit behind a variable-length IPv4 header,
	// so they are loaded relative to X = IPv4 header length.
	loadA struct {
		proto     string
		check     node // protocol test ANDed into the relation
		base      uint32
		transport bool
		ipOff     uint32 // network header offset for the header-length load
		idx       arith
		size      uint32
	}
	binA struct {
		op   bpf.ALUOp
		l, r arith
	}
	negA struct{ x arith }
)

func (numA) isArith()   {}
func (lenA) isArith()   {}
func (*loadA) isArith() {}
func (binA) isArith()   {}
func (negA) isArith()   {}

var arithConsts = map[string]uint32{
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
	"icmptype": 0, "icmpcode": 1, "icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4,
	"icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10,
	"icmp-timxceed": 11, "icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14,
	"icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1, "icmp6-destinationunreach": 1, "icmp6-packettoobig": 2,
	"icmp6-timeexceeded": 3, "icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
	"icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
}

// Binary operator levels, loosest first. '^' is handled apart: libpcap's
// grammar gives it no precedence, so yacc always shifts on it and it binds
// the operand just before it to everything after it.
var arithLevels = [][]string{{"|"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"}}

var aluOps = map[string]bpf.ALUOp{
	"|": bpf.ALUOpOr, "&": bpf.ALUOpAnd, "<<": bpf.ALUOpShiftLeft, ">>": bpf.ALUOpShiftRight,
	"+": bpf.ALUOpAdd, "-": bpf.ALUOpSub, "*": bpf.ALUOpMul, "/": bpf.ALUOpDiv, "%": bpf.ALUOpMod,
	"^": bpf.ALUOpXor,
}

func (p *parser) parseArith() (arith, error) { return p.arithLevel(0) }

func (p *parser) arithLevel(level int) (arith, error) {
	if level == len(arithLevels) {
		return p.arithUnary()
	}
	l, err := p.arithLevel(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokPunct || !contains(arithLevels[level], t.text) {
			return l, nil
		}
		p.next()
		r, err := p.arithLevel(level + 1)
		if err != nil {
			return nil, err
		}
		l = binA{aluOps[t.text], l, r}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) arithUnary() (arith, error) {
	if isPunct(p.peek(), "-") {
		p.next()
		x, err := p.arithUnary()
		if err != nil {
			return nil, err
		}
		return negA{x}, nil
	}
	x, err := p.arithPrimary()
	if err != nil {
		return nil, err
	}
	if isPunct(p.peek(), "^") {
		p.next()
		r, err := p.parseArith()
		if err != nil {
			return nil, err
		}
		return binA{bpf.ALUOpXor, x, r}, nil
	}
	return x, nil
}

func (p *parser) arithPrimary() (arith, error) {
	t := p.peek()
	if isPunct(t, "(") {
		p.next()
		x, err := p.parseArith()
		if err != nil {
			return nil, err
		}
		if !isPunct(p.peek(), ")") {
			return nil, p.errorf("expected ')', got %s", p.peek())
		}
		p.next()
		return x, nil
	}
	if t.kind != tokWord || t.escaped {
		return nil, p.errorf("expected an arithmetic operand, got %s", t)
	}
	if v, ok := parseNum(t.text); ok {
		p.next()
		return numA(v), nil
	}
	if v, ok := arithConsts[t.text]; ok {
		p.next()
		return numA(v), nil
	}
	if t.text == "len" {
		p.next()
		return lenA{}, nil
	}
	if !isPunct(p.peekN(1), "[") {
		return nil, p.errorf("expected an arithmetic operand, got %s", t)
	}
	ld, err := p.loadTarget(t.text)
	if err != nil {
		return nil, err
	}
	p.next()
	p.next() // '['
	idx, err := p.parseArith()
	if err != nil {
		return nil, err
	}
	ld.idx, ld.size = idx, 1
	if isPunct(p.peek(), ":") {
		p.next()
		sz, err := p.number()
		if err != nil {
			return nil, err
		}
		if sz != 1 && sz != 2 && sz != 4 {
			return nil, p.errorf("data size must be 1, 2 or 4, not %d", sz)
		}
		ld.size = sz
	}
	if !isPunct(p.peek(), "]") {
		return nil, p.errorf("expected ']', got %s", p.peek())
	}
	p.next()
	return ld, nil
}

// loadTarget describes where proto[...] reads and what it requires, as
// libpcap does: transport headers only over IPv4, first fragments only.
func (p *parser) loadTarget(proto string) (*loadA, error) {
	pl := p.link.pl
	ld := &loadA{proto: proto}
	switch proto {
	case "ether", "link":
		ld.check = constNode(true)
	case "ip":
		ld.check, ld.base = p.linkProto(etherIP), pl
	case "ip6":
		ld.check, ld.base = p.linkProto(etherIPv6), pl
	case "arp":
		ld.check, ld.base = p.linkProto(etherARP), pl
	case "rarp":
		ld.check, ld.base = p.linkProto(etherRARP), pl
	case "tcp", "udp", "sctp", "icmp", "igmp":
		num := map[string]uint32{"tcp": protoTCP, "udp": protoUDP, "sctp": protoSCTP, "icmp": protoICMP, "igmp": protoIGMP}[proto]
		ld.check = and(p.ip4Proto(num), p.notFragment())
		ld.transport, ld.ipOff, ld.base = true, pl, pl
	case "icmp6":
		ld.check = and(p.linkProto(etherIPv6), p.cmp(pl+6, 1, 0, protoICMPv6))
		ld.base = pl + 40
	default:
		return nil, fmt.Errorf("%w: %s[] indexing", ErrUnsupported, proto)
	}
	return ld, nil
}

// fold evaluates constant subexpressions, as libpcap's optimizer would, so
// `tcp[tcpflags] & (tcp-syn|tcp-ack)` compares against one constant.
func fold(e arith) (arith, error) {
	switch e := e.(type) {
	case binA:
		l, err := fold(e.l)
		if err != nil {
			return nil, err
		}
		r, err := fold(e.r)
		if err != nil {
			return nil, err
		}
		if rn, ok := r.(numA); ok {
			switch {
			case (e.op == bpf.ALUOpDiv || e.op == bpf.ALUOpMod) && rn == 0:
				return nil, fmt.Errorf("%w: division by zero", ErrSyntax)
			case (e.op == bpf.ALUOpShiftLeft || e.op == bpf.ALUOpShiftRight) && rn > 31:
				return nil, fmt.Errorf("%w: shift by more than 31 bits", ErrSyntax)
			}
			if ln, ok := l.(numA); ok {
				return numA(aluApply(e.op, uint32(ln), uint32(rn))), nil
			}
		}
		return binA{e.op, l, r}, nil
	case negA:
		x, err := fold(e.x)
		if err != nil {
			return nil, err
		}
		if n, ok := x.(numA); ok {
			return numA(-uint32(n)), nil
		}
		return negA{x}, nil
	case *loadA:
		idx, err := fold(e.idx)
		if err != nil {
			return nil, err
		}
		c := *e
		c.idx = idx
		return &c, nil
	}
	return e, nil
}

// maxScratch is the number of cBPF scratch memory slots.
const maxScratch = 16

// maxOffset bounds constant load offsets: far beyond any frame, yet below
// the kernel's ancillary-data range (SKF_AD_OFF) so a huge index can never
// turn into a metadata load.
const maxOffset = 1 << 24

// code emits straight-line instructions leaving e in A. depth is the first
// free scratch slot.
func code(e arith, depth int) ([]bpf.Instruction, error) {
	switch e := e.(type) {
	case numA:
		return []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: uint32(e)}}, nil
	case lenA:
		return []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}, nil
	case negA:
		c, err := code(e.x, depth)
		return append(c, bpf.NegateA{}), err
	case *loadA:
		if n, ok := e.idx.(numA); ok {
			off := uint64(e.base) + uint64(n)
			if off >= maxOffset {
				return nil, fmt.Errorf("%w: offset %d out of range", ErrUnsupported, off)
			}
			if e.transport {
				return []bpf.Instruction{bpf.LoadMemShift{Off: e.ipOff}, bpf.LoadIndirect{Off: uint32(off), Size: int(e.size)}}, nil
			}
			return []bpf.Instruction{bpf.LoadAbsolute{Off: uint32(off), Size: int(e.size)}}, nil
		}
		c, err := code(e.idx, depth)
		if err != nil {
			return nil, err
		}
		if e.transport {
			c = append(c, bpf.LoadMemShift{Off: e.ipOff}, bpf.ALUOpX{Op: bpf.ALUOpAdd})
		}
		return append(c, bpf.TAX{}, bpf.LoadIndirect{Off: e.base, Size: int(e.size)}), nil
	case binA:
		if rn, ok := e.r.(numA); ok {
			c, err := code(e.l, depth)
			return append(c, bpf.ALUOpConstant{Op: e.op, Val: uint32(rn)}), err
		}
		if depth >= maxScratch {
			return nil, fmt.Errorf("%w: arithmetic nested too deeply", ErrUnsupported)
		}
		r, err := code(e.r, depth)
		if err != nil {
			return nil, err
		}
		l, err := code(e.l, depth+1)
		if err != nil {
			return nil, err
		}
		c := append(r, bpf.StoreScratch{Src: bpf.RegA, N: depth})
		c = append(c, l...)
		return append(c, bpf.LoadScratch{Dst: bpf.RegX, N: depth}, bpf.ALUOpX{Op: e.op}), nil
	}
	return nil, fmt.Errorf("filter: internal error: arith %T", e)
}

// collectChecks gathers the protocol tests of every load, in order, once
// per protocol.
func collectChecks(e arith, seen map[string]bool, out []node) []node {
	switch e := e.(type) {
	case binA:
		out = collectChecks(e.l, seen, out)
		return collectChecks(e.r, seen, out)
	case negA:
		return collectChecks(e.x, seen, out)
	case *loadA:
		if !seen[e.proto] {
			seen[e.proto] = true
			if c, ok := e.check.(constNode); !ok || !bool(c) {
				out = append(out, e.check)
			}
		}
		return collectChecks(e.idx, seen, out)
	}
	return out
}

// relation builds `l op r`: the protocol tests of both sides ANDed with the
// comparison; only the comparison is negated for != < <=, as in libpcap.
func (p *parser) relation(op string, l, r arith) (node, error) {
	l, err := fold(l)
	if err != nil {
		return nil, err
	}
	r, err = fold(r)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	checks := collectChecks(l, seen, nil)
	checks = collectChecks(r, seen, checks)

	a := &atom{}
	if rn, ok := r.(numA); ok {
		if a.pre, err = code(l, 0); err != nil {
			return nil, err
		}
		a.k = uint32(rn)
	} else {
		rc, err := code(r, 0)
		if err != nil {
			return nil, err
		}
		lc, err := code(l, 1)
		if err != nil {
			return nil, err
		}
		a.pre = append(append(append(rc, bpf.StoreScratch{Src: bpf.RegA, N: 0}), lc...), bpf.LoadScratch{Dst: bpf.RegX, N: 0})
		a.useX = true
	}
	var cmp node = a
	switch op {
	case ">":
		a.cond = bpf.JumpGreaterThan
	case ">=":
		a.cond = bpf.JumpGreaterOrEqual
	case "=", "==":
		a.cond = bpf.JumpEqual
	case "!=":
		a.cond, cmp = bpf.JumpEqual, not(a)
	case "<":
		a.cond, cmp = bpf.JumpGreaterOrEqual, not(a)
	case "<=":
		a.cond, cmp = bpf.JumpGreaterThan, not(a)
	}
	return and(append(checks, cmp)...), nil
}

func aluApply(op bpf.ALUOp, a, b uint32) uint32 {
	switch op {
	case bpf.ALUOpAdd:
		return a + b
	case bpf.ALUOpSub:
		return a - b
	case bpf.ALUOpMul:
		return a * b
	case bpf.ALUOpDiv:
		return a / b
	case bpf.ALUOpMod:
		return a % b
	case bpf.ALUOpOr:
		return a | b
	case bpf.ALUOpAnd:
		return a & b
	case bpf.ALUOpShiftLeft:
		return a << (b & 31)
	case bpf.ALUOpShiftRight:
		return a >> (b & 31)
	case bpf.ALUOpXor:
		return a ^ b
	}
	return 0
}
