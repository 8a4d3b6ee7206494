// Package cbpf translates classic BPF filters (as compiled from tcpdump
// expressions) into eBPF instructions that the XDP and TC programs can
// tail-call, so that filtered frames never leave the kernel.
//
// Register use in the generated code:
//
//	R6  the program context (xdp_md or __sk_buff), saved from R1
//	R7  the classic accumulator A
//	R8  the classic index register X
//	R0  the classic return value when control reaches the epilogue
//	R2-R5, R0  scratch between classic instructions
//	stack: M[0..15] at R10-64..R10-4, an 8-byte load buffer at R10-72
//
// Loads outside the packet end the filter with return value 0 (no match),
// as the classic interpreter does.
package cbpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"
)

// Access selects how packet bytes are read.
type Access int

const (
	// Direct reads xdp_md data/data_end with explicit bounds checks (XDP).
	Direct Access = iota
	// SKBLoadBytes reads through bpf_skb_load_bytes, which also reaches
	// non-linear skb data (TC). The length is skb->len.
	SKBLoadBytes
)

// Registers shared with callers that write an epilogue.
const (
	RegCtx    = asm.R6 // program context, valid in the epilogue
	RegResult = asm.R0 // classic return value (uint32) on entry to the epilogue
)

// Label of the epilogue's first instruction; the classic return statements jump there.
const epilogueLabel = "cbpf_epilogue"

// maxPacketOffset bounds every packet offset so the verifier can track ranges.
const maxPacketOffset = 0xffff

// ErrUnsupported is returned for classic instructions that have no
// translation, such as Linux ancillary loads other than the packet length.
var ErrUnsupported = errors.New("unsupported classic BPF instruction")

// Options controls the shape of the translated program.
type Options struct {
	Access Access
	// Epilogue runs with RegResult holding the classic return value and
	// RegCtx the context. Its first instruction receives the epilogue label.
	// Nil means "return the classic value".
	Epilogue asm.Instructions
}

const (
	regA      = asm.R7
	regX      = asm.R8
	scratchSz = 16
	bufOff    = -72 // load buffer for SKBLoadBytes
	ret0Label = "cbpf_ret0"
)

func scratchOff(n int) int16 { return int16(-64 + 4*n) }

func label(i int) string { return fmt.Sprintf("cbpf_%d", i) }

// Translate converts a classic BPF program into eBPF. Raw instructions are
// disassembled first. Classic instructions that control cannot reach are
// left out, because the kernel's verifier rejects unreachable code where
// classic BPF allows it. The program must end in a return, which the
// classic checker guarantees for tcpdump output.
func Translate(prog []bpf.Instruction, opts Options) (asm.Instructions, error) {
	if len(prog) == 0 {
		return nil, errors.New("empty classic program")
	}
	t := translator{opts: opts, n: len(prog)}
	ins := make([]bpf.Instruction, len(prog))
	for i, in := range prog {
		if raw, ok := in.(bpf.RawInstruction); ok {
			in = raw.Disassemble()
			if _, still := in.(bpf.RawInstruction); still {
				return nil, fmt.Errorf("instruction %d (%#v): %w", i, raw, ErrUnsupported)
			}
		}
		ins[i] = in
	}
	switch ins[len(ins)-1].(type) {
	case bpf.RetA, bpf.RetConstant:
	default:
		return nil, errors.New("classic program does not end in a return")
	}
	if err := t.prologue(ins); err != nil {
		return nil, err
	}
	live, err := reachable(ins)
	if err != nil {
		return nil, err
	}
	for i, in := range ins {
		if !live[i] {
			continue // the eBPF verifier rejects unreachable code; classic allows it
		}
		t.mark = label(i)
		if err := t.insn(i, in); err != nil {
			return nil, fmt.Errorf("instruction %d (%v): %w", i, in, err)
		}
	}
	if t.usesRet0 {
		t.emit(asm.Mov.Imm32(RegResult, 0).WithSymbol(ret0Label))
		t.emit(asm.Ja.Label(epilogueLabel))
	}
	epi := opts.Epilogue
	if len(epi) == 0 {
		epi = asm.Instructions{asm.Return()}
	}
	epi = append(asm.Instructions(nil), epi...)
	epi[0] = epi[0].WithSymbol(epilogueLabel)
	return append(t.out, epi...), nil
}

type translator struct {
	opts     Options
	n        int
	out      asm.Instructions
	mark     string // symbol for the next emitted instruction
	usesRet0 bool
}

// reachable marks the classic instructions control can reach from the first.
// Classic jumps only go forward, so one pass in order suffices.
func reachable(ins []bpf.Instruction) ([]bool, error) {
	live := make([]bool, len(ins))
	live[0] = true
	mark := func(i, skip int) error {
		to := i + 1 + skip
		if to >= len(ins) {
			return fmt.Errorf("instruction %d: jump to %d beyond end of program", i, to)
		}
		live[to] = true
		return nil
	}
	for i, in := range ins {
		if !live[i] {
			continue
		}
		var err error
		switch in := in.(type) {
		case bpf.RetA, bpf.RetConstant:
		case bpf.Jump:
			err = mark(i, int(in.Skip))
		case bpf.JumpIf:
			if err = mark(i, int(in.SkipTrue)); err == nil {
				err = mark(i, int(in.SkipFalse))
			}
		case bpf.JumpIfX:
			if err = mark(i, int(in.SkipTrue)); err == nil {
				err = mark(i, int(in.SkipFalse))
			}
		default:
			err = mark(i, 0)
		}
		if err != nil {
			return nil, err
		}
	}
	return live, nil
}

func (t *translator) emit(in asm.Instruction) {
	if t.mark != "" {
		in = in.WithSymbol(t.mark)
		t.mark = ""
	}
	t.out = append(t.out, in)
}

func (t *translator) ret0() string {
	t.usesRet0 = true
	return ret0Label
}

func (t *translator) prologue(ins []bpf.Instruction) error {
	t.emit(asm.Mov.Reg(RegCtx, asm.R1))
	t.emit(asm.Mov.Imm32(regA, 0))
	t.emit(asm.Mov.Imm32(regX, 0))
	// The classic machine starts with M[] zeroed; the verifier also insists
	// that stack slots are written before they are read.
	var read [scratchSz]bool
	for _, in := range ins {
		if ls, ok := in.(bpf.LoadScratch); ok {
			if ls.N < 0 || ls.N >= scratchSz {
				return fmt.Errorf("scratch slot %d out of range", ls.N)
			}
			read[ls.N] = true
		}
	}
	for n, r := range read {
		if r {
			t.emit(asm.StoreImm(asm.R10, scratchOff(n), 0, asm.Word))
		}
	}
	return nil
}

func (t *translator) target(i int, skip int) (string, error) {
	to := i + 1 + skip
	if to >= t.n {
		return "", fmt.Errorf("jump to %d beyond end of program", to)
	}
	return label(to), nil
}

func reg(r bpf.Register) asm.Register {
	if r == bpf.RegX {
		return regX
	}
	return regA
}

func (t *translator) insn(i int, in bpf.Instruction) error {
	switch in := in.(type) {
	case bpf.LoadConstant:
		t.emit(asm.Mov.Imm32(reg(in.Dst), int32(in.Val)))
	case bpf.LoadScratch:
		if in.N < 0 || in.N >= scratchSz {
			return fmt.Errorf("scratch slot %d out of range", in.N)
		}
		t.emit(asm.LoadMem(reg(in.Dst), asm.R10, scratchOff(in.N), asm.Word))
	case bpf.StoreScratch:
		if in.N < 0 || in.N >= scratchSz {
			return fmt.Errorf("scratch slot %d out of range", in.N)
		}
		t.emit(asm.StoreMem(asm.R10, scratchOff(in.N), reg(in.Src), asm.Word))
	case bpf.TAX:
		t.emit(asm.Mov.Reg32(regX, regA))
	case bpf.TXA:
		t.emit(asm.Mov.Reg32(regA, regX))
	case bpf.LoadAbsolute:
		return t.load(in.Off, in.Size, false, regA)
	case bpf.LoadIndirect:
		return t.load(in.Off, in.Size, true, regA)
	case bpf.LoadMemShift:
		if err := t.load(in.Off, 1, false, regX); err != nil {
			return err
		}
		t.emit(asm.And.Imm32(regX, 0xf))
		t.emit(asm.LSh.Imm32(regX, 2))
	case bpf.LoadExtension:
		if in.Num != bpf.ExtLen {
			return fmt.Errorf("extension %v: %w", in.Num, ErrUnsupported)
		}
		t.length()
	case bpf.ALUOpConstant:
		return t.aluConst(in.Op, in.Val)
	case bpf.ALUOpX:
		return t.aluX(i, in.Op)
	case bpf.NegateA:
		t.emit(asm.Neg.Imm32(regA, 0))
	case bpf.Jump:
		to, err := t.target(i, int(in.Skip))
		if err != nil {
			return err
		}
		t.emit(asm.Ja.Label(to))
	case bpf.JumpIf:
		return t.jump(i, in.Cond, in.SkipTrue, in.SkipFalse, func(op asm.JumpOp, l string) asm.Instruction {
			return op.Imm32(regA, int32(in.Val), l)
		})
	case bpf.JumpIfX:
		return t.jump(i, in.Cond, in.SkipTrue, in.SkipFalse, func(op asm.JumpOp, l string) asm.Instruction {
			return op.Reg32(regA, regX, l)
		})
	case bpf.RetA:
		t.emit(asm.Mov.Reg32(RegResult, regA))
		t.emit(asm.Ja.Label(epilogueLabel))
	case bpf.RetConstant:
		t.emit(asm.Mov.Imm32(RegResult, int32(in.Val)))
		t.emit(asm.Ja.Label(epilogueLabel))
	default:
		return fmt.Errorf("%T: %w", in, ErrUnsupported)
	}
	return nil
}

func (t *translator) jump(i int, cond bpf.JumpTest, skipTrue, skipFalse uint8,
	mk func(asm.JumpOp, string) asm.Instruction) error {
	tt, err := t.target(i, int(skipTrue))
	if err != nil {
		return err
	}
	ff, err := t.target(i, int(skipFalse))
	if err != nil {
		return err
	}
	var op asm.JumpOp
	switch cond {
	case bpf.JumpEqual:
		op = asm.JEq
	case bpf.JumpNotEqual:
		op = asm.JNE
	case bpf.JumpGreaterThan:
		op = asm.JGT
	case bpf.JumpLessThan:
		op = asm.JLT
	case bpf.JumpGreaterOrEqual:
		op = asm.JGE
	case bpf.JumpLessOrEqual:
		op = asm.JLE
	case bpf.JumpBitsSet:
		op = asm.JSet
	case bpf.JumpBitsNotSet:
		op = asm.JSet
		tt, ff = ff, tt
	default:
		return fmt.Errorf("jump condition %v: %w", cond, ErrUnsupported)
	}
	t.emit(mk(op, tt))
	if ff != label(i+1) {
		t.emit(asm.Ja.Label(ff))
	}
	return nil
}

func (t *translator) aluConst(op bpf.ALUOp, val uint32) error {
	switch op {
	case bpf.ALUOpDiv, bpf.ALUOpMod:
		if val == 0 {
			return errors.New("division by constant zero")
		}
	case bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight:
		if val >= 32 {
			// The classic interpreter shifts everything out; eBPF would mask.
			t.emit(asm.Mov.Imm32(regA, 0))
			return nil
		}
	}
	aop, err := aluOp(op)
	if err != nil {
		return err
	}
	t.emit(aop.Imm32(regA, int32(val)))
	return nil
}

func (t *translator) aluX(i int, op bpf.ALUOp) error {
	aop, err := aluOp(op)
	if err != nil {
		return err
	}
	switch op {
	case bpf.ALUOpDiv, bpf.ALUOpMod:
		// Division by zero ends the classic program with 0.
		t.emit(asm.JEq.Imm32(regX, 0, t.ret0()))
	case bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight:
		// The classic interpreter shifts everything out for X >= 32; eBPF would mask.
		shift := label(i) + "_shift"
		t.emit(asm.JLT.Imm32(regX, 32, shift))
		t.emit(asm.Mov.Imm32(regA, 0))
		t.emit(asm.Ja.Label(label(i + 1)))
		t.mark = shift
	}
	t.emit(aop.Reg32(regA, regX))
	return nil
}

func aluOp(op bpf.ALUOp) (asm.ALUOp, error) {
	switch op {
	case bpf.ALUOpAdd:
		return asm.Add, nil
	case bpf.ALUOpSub:
		return asm.Sub, nil
	case bpf.ALUOpMul:
		return asm.Mul, nil
	case bpf.ALUOpDiv:
		return asm.Div, nil
	case bpf.ALUOpMod:
		return asm.Mod, nil
	case bpf.ALUOpAnd:
		return asm.And, nil
	case bpf.ALUOpOr:
		return asm.Or, nil
	case bpf.ALUOpXor:
		return asm.Xor, nil
	case bpf.ALUOpShiftLeft:
		return asm.LSh, nil
	case bpf.ALUOpShiftRight:
		return asm.RSh, nil
	}
	return 0, fmt.Errorf("alu op %v: %w", op, ErrUnsupported)
}

// length sets A to the packet length.
func (t *translator) length() {
	if t.opts.Access == SKBLoadBytes {
		t.emit(asm.LoadMem(regA, RegCtx, 0, asm.Word)) // __sk_buff.len
		return
	}
	t.emit(asm.Mov.Reg(asm.R1, RegCtx))
	t.emit(asm.FnXdpGetBuffLen.Call())
	t.emit(asm.Mov.Reg32(regA, asm.R0))
}

// load reads size bytes at off (+X when indirect), big endian, into dst.
func (t *translator) load(off uint32, size int, indirect bool, dst asm.Register) error {
	var sz asm.Size
	switch size {
	case 1:
		sz = asm.Byte
	case 2:
		sz = asm.Half
	case 4:
		sz = asm.Word
	default:
		return fmt.Errorf("load size %d: %w", size, ErrUnsupported)
	}
	if off >= 1<<31 {
		// Negative offsets are Linux ancillary data (SKF_AD_OFF, SKF_NET_OFF, ...).
		return fmt.Errorf("offset %#x: %w", off, ErrUnsupported)
	}
	if !indirect && uint64(off)+uint64(size) > maxPacketOffset {
		// Beyond any frame we parse: the classic program would fail the load.
		t.emit(asm.Ja.Label(t.ret0()))
		return nil
	}
	if t.opts.Access == SKBLoadBytes {
		t.loadSKB(off, sz, indirect, dst)
	} else {
		t.loadDirect(off, sz, indirect, dst)
	}
	if sz != asm.Byte {
		t.emit(asm.HostTo(asm.BE, dst, sz))
	}
	return nil
}

func (t *translator) loadDirect(off uint32, sz asm.Size, indirect bool, dst asm.Register) {
	t.emit(asm.LoadMem(asm.R2, RegCtx, 0, asm.Word)) // xdp_md.data
	t.emit(asm.LoadMem(asm.R3, RegCtx, 4, asm.Word)) // xdp_md.data_end
	if indirect {
		t.emit(asm.Mov.Reg32(asm.R4, regX))
		t.emit(asm.Add.Imm(asm.R4, int32(off)))
		t.emit(asm.JGT.Imm(asm.R4, maxPacketOffset, t.ret0()))
		t.emit(asm.Add.Reg(asm.R2, asm.R4))
	} else if off != 0 {
		t.emit(asm.Add.Imm(asm.R2, int32(off)))
	}
	t.emit(asm.Mov.Reg(asm.R4, asm.R2))
	t.emit(asm.Add.Imm(asm.R4, int32(sz.Sizeof())))
	t.emit(asm.JGT.Reg(asm.R4, asm.R3, t.ret0()))
	t.emit(asm.LoadMem(dst, asm.R2, 0, sz))
}

func (t *translator) loadSKB(off uint32, sz asm.Size, indirect bool, dst asm.Register) {
	t.emit(asm.Mov.Reg(asm.R1, RegCtx))
	if indirect {
		t.emit(asm.Mov.Reg32(asm.R2, regX))
		t.emit(asm.Add.Imm(asm.R2, int32(off)))
		// X+k may exceed 32 bits, which no packet reaches.
		t.emit(asm.Mov.Reg(asm.R3, asm.R2))
		t.emit(asm.RSh.Imm(asm.R3, 32))
		t.emit(asm.JNE.Imm(asm.R3, 0, t.ret0()))
	} else {
		t.emit(asm.Mov.Imm32(asm.R2, int32(off)))
	}
	t.emit(asm.Mov.Reg(asm.R3, asm.R10))
	t.emit(asm.Add.Imm(asm.R3, bufOff))
	t.emit(asm.Mov.Imm(asm.R4, int32(sz.Sizeof())))
	t.emit(asm.FnSkbLoadBytes.Call())
	t.emit(asm.JNE.Imm(asm.R0, 0, t.ret0()))
	t.emit(asm.LoadMem(dst, asm.R10, bufOff, sz))
}
