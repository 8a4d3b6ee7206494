package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// A node is a boolean test. Leaves are atoms: straight-line code that leaves
// a value in A (or A and X) followed by one conditional jump. Inner nodes
// combine tests with short-circuit control flow; no value is kept across
// atoms, so each atom reloads what it needs.
type node interface{ isNode() }

type (
	andNode   struct{ a, b node }
	orNode    struct{ a, b node }
	notNode   struct{ a node }
	constNode bool
	atom      struct {
		pre  []bpf.Instruction
		cond bpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual, JumpBitsSet
		k    uint32
		useX bool // compare A with X instead of k
	}
)

func (andNode) isNode()   {}
func (orNode) isNode()    {}
func (notNode) isNode()   {}
func (constNode) isNode() {}
func (*atom) isNode()     {}

// and folds a list of tests left to right; an empty list is true.
func and(ns ...node) node {
	var out node
	for _, n := range ns {
		if out == nil {
			out = n
		} else {
			out = andNode{out, n}
		}
	}
	if out == nil {
		return constNode(true)
	}
	return out
}

// or folds a list of tests left to right; an empty list is false.
func or(ns ...node) node {
	var out node
	for _, n := range ns {
		if out == nil {
			out = n
		} else {
			out = orNode{out, n}
		}
	}
	if out == nil {
		return constNode(false)
	}
	return out
}

func not(n node) node { return notNode{n} }

// maxInsns is the kernel's BPF_MAXINSNS for classic programs.
const maxInsns = 4096

// pseudo is one emitted item before jump offsets are known.
type pseudo struct {
	ins       bpf.Instruction // straight-line instruction, or nil
	label     int             // >0: this item only marks label's position
	jump      bool            // conditional jump with targets t/f, or ja (t only)
	uncond    bool
	cond      bpf.JumpTest
	k         uint32
	useX      bool
	t, f      int
	farT      bool // needs a trampoline (target beyond 255)
	farF      bool
	pos, size int
}

type codegen struct {
	items  []pseudo
	labels int
}

func (g *codegen) newLabel() int { g.labels++; return g.labels }

func (g *codegen) place(l int) {
	// A jump to the very next instruction is a no-op.
	if n := len(g.items); n > 0 && g.items[n-1].uncond && g.items[n-1].t == l {
		g.items = g.items[:n-1]
	}
	g.items = append(g.items, pseudo{label: l})
}

func (g *codegen) gen(n node, t, f int) {
	switch n := n.(type) {
	case *atom:
		for _, ins := range n.pre {
			g.items = append(g.items, pseudo{ins: ins})
		}
		g.items = append(g.items, pseudo{jump: true, cond: n.cond, k: n.k, useX: n.useX, t: t, f: f})
	case andNode:
		m := g.newLabel()
		g.gen(n.a, m, f)
		g.place(m)
		g.gen(n.b, t, f)
	case orNode:
		m := g.newLabel()
		g.gen(n.a, t, m)
		g.place(m)
		g.gen(n.b, t, f)
	case notNode:
		g.gen(n.a, f, t)
	case constNode:
		target := f
		if n {
			target = t
		}
		g.items = append(g.items, pseudo{jump: true, uncond: true, t: target})
	default:
		panic(fmt.Sprintf("filter: unknown node %T", n))
	}
}

// generate turns a test into a program returning snaplen on match, 0
// otherwise. Conditional jumps reach at most 255 instructions ahead; longer
// ones go through an unconditional jump placed right after them.
func generate(root node, snaplen uint32) ([]bpf.Instruction, error) {
	g := &codegen{}
	accept, reject := g.newLabel(), g.newLabel()
	g.gen(root, accept, reject)
	g.place(accept)
	g.items = append(g.items, pseudo{ins: bpf.RetConstant{Val: snaplen}})
	g.place(reject)
	g.items = append(g.items, pseudo{ins: bpf.RetConstant{Val: 0}})

	labelPos := make([]int, g.labels+1)
	for changed := true; changed; {
		changed = false
		pos := 0
		for i := range g.items {
			it := &g.items[i]
			it.pos = pos
			switch {
			case it.label > 0:
				labelPos[it.label] = pos
				it.size = 0
			case it.jump && !it.uncond:
				it.size = 1
				if it.farT {
					it.size++
				}
				if it.farF {
					it.size++
				}
			default:
				it.size = 1
			}
			pos += it.size
		}
		if pos > maxInsns {
			return nil, fmt.Errorf("%w: program needs %d instructions, more than %d", ErrTooLong, pos, maxInsns)
		}
		for i := range g.items {
			it := &g.items[i]
			if !it.jump || it.uncond {
				continue
			}
			// Offsets count from the instruction after the jump.
			if !it.farT && labelPos[it.t]-(it.pos+1) > 255 {
				it.farT, changed = true, true
			}
			if !it.farF && labelPos[it.f]-(it.pos+1) > 255 {
				it.farF, changed = true, true
			}
		}
	}

	out := make([]bpf.Instruction, 0, len(g.items))
	for _, it := range g.items {
		switch {
		case it.label > 0:
		case it.uncond:
			out = append(out, bpf.Jump{Skip: uint32(labelPos[it.t] - it.pos - 1)})
		case it.jump:
			next := it.pos + 1 // first instruction after the conditional jump
			end := it.pos + it.size
			var skipT, skipF int
			switch {
			case it.farT && it.farF:
				skipT, skipF = 0, 1
			case it.farT:
				skipT, skipF = 0, labelPos[it.f]-next
			case it.farF:
				skipT, skipF = labelPos[it.t]-next, 0
			default:
				skipT, skipF = labelPos[it.t]-next, labelPos[it.f]-next
			}
			out = append(out, condJump(it, uint8(skipT), uint8(skipF)))
			if it.farT {
				out = append(out, bpf.Jump{Skip: uint32(labelPos[it.t] - len(out) - 1)})
			}
			if it.farF {
				out = append(out, bpf.Jump{Skip: uint32(labelPos[it.f] - len(out) - 1)})
			}
			if len(out) != end {
				return nil, fmt.Errorf("filter: internal error: jump layout at %d", it.pos)
			}
		default:
			out = append(out, it.ins)
		}
	}
	return out, nil
}

func condJump(it pseudo, skipT, skipF uint8) bpf.Instruction {
	if it.useX {
		return bpf.JumpIfX{Cond: it.cond, SkipTrue: skipT, SkipFalse: skipF}
	}
	return bpf.JumpIf{Cond: it.cond, Val: it.k, SkipTrue: skipT, SkipFalse: skipF}
}
