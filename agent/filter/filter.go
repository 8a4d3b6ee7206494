// Package filter compiles tcpdump (pcap-filter(7)) expressions to classic
// BPF in pure Go and runs them without allocating.
//
// The generated programs follow libpcap's semantics, quirks included, so a
// filter selects the same packets as `tcpdump -r file EXPR`: `port` means
// TCP, UDP or SCTP over IPv4 (first fragments, header length honoured) or
// IPv6 (fixed 40-byte header); `host` over IPv4 also matches ARP and RARP;
// `vlan` moves every offset parsed after it by 4 bytes; `and` and `or` have
// equal precedence and associate left to right. No name resolution is done:
// host and network names fail with ErrUnsupported, as do primitives this
// compiler does not implement. The code is not optimized the way libpcap's
// is; programs are longer but select the same packets.
package filter

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/visorng/visor/decode"
)

var (
	// ErrUnsupported marks valid pcap-filter syntax this compiler does not
	// implement (name resolution, broadcast, mpls, ...) and link types it
	// has no offsets for.
	ErrUnsupported = errors.New("unsupported filter")
	// ErrSyntax marks an expression that is not valid pcap-filter syntax.
	ErrSyntax = errors.New("filter syntax error")
	// ErrTooLong means the program would exceed the kernel's 4096
	// instructions.
	ErrTooLong = errors.New("filter program too long")
)

// DefaultSnaplen is the value a matching program returns (and the snapshot
// length tcpdump uses).
const DefaultSnaplen = 262144

// Compile translates a filter expression for frames of the given link type
// into a classic BPF program returning snaplen for matching packets and 0
// otherwise. An empty expression matches everything.
func Compile(expr string, link decode.LinkType, snaplen int) ([]bpf.Instruction, error) {
	if snaplen <= 0 || snaplen > 1<<31-1 {
		return nil, fmt.Errorf("filter %q: snaplen %d out of range", expr, snaplen)
	}
	li, err := linkFor(link)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	if strings.TrimSpace(expr) == "" {
		return []bpf.Instruction{bpf.RetConstant{Val: uint32(snaplen)}}, nil
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	p := &parser{toks: toks, link: li}
	root, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	prog, err := generate(root, uint32(snaplen))
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	return prog, nil
}

// Program is a compiled filter ready to run on frames.
type Program struct {
	expr  string
	insns []bpf.Instruction
	raw   []bpf.RawInstruction
}

// New compiles expr for the link type. An empty expression matches all
// frames.
func New(expr string, link decode.LinkType) (*Program, error) {
	insns, err := Compile(expr, link, DefaultSnaplen)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("filter %q: assemble: %w", expr, err)
	}
	if err := validate(raw); err != nil {
		return nil, fmt.Errorf("filter %q: internal error: %w", expr, err)
	}
	return &Program{expr: expr, insns: insns, raw: raw}, nil
}

// Match runs the program on a captured frame; wireLen is the frame's
// length on the wire (what `len`, `greater` and `less` test). It does not
// allocate.
func (p *Program) Match(frame []byte, wireLen int) bool {
	return run(p.raw, frame, uint32(wireLen)) != 0
}

// Instructions returns the program; callers must not modify it.
func (p *Program) Instructions() []bpf.Instruction { return p.insns }

// Raw returns the assembled program, for SO_ATTACH_FILTER or translation to
// eBPF. The slice is a copy.
func (p *Program) Raw() ([]bpf.RawInstruction, error) {
	return append([]bpf.RawInstruction(nil), p.raw...), nil
}

// String returns the source expression.
func (p *Program) String() string { return p.expr }
