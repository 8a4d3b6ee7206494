package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Our own interpreter rather than x/net/bpf.VM: the VM answers `ld #len`
// with the captured length, while tcpdump's `len`/`greater`/`less` test the
// wire length; and switching on raw opcodes avoids an interface type switch
// per instruction.

// Classic BPF opcodes used by the interpreter.
const (
	opLdW    = 0x20 // ld [k]
	opLdH    = 0x28
	opLdB    = 0x30
	opLdIW   = 0x40 // ld [x+k]
	opLdIH   = 0x48
	opLdIB   = 0x50
	opLdImm  = 0x00
	opLdMem  = 0x60
	opLdLen  = 0x80
	opLdxImm = 0x01
	opLdxMem = 0x61
	opLdxLen = 0x81
	opLdxMSH = 0xb1
	opSt     = 0x02
	opStx    = 0x03
	opJa     = 0x05
	opJeqK   = 0x15
	opJgtK   = 0x25
	opJgeK   = 0x35
	opJsetK  = 0x45
	opJeqX   = 0x1d
	opJgtX   = 0x2d
	opJgeX   = 0x3d
	opJsetX  = 0x4d
	opRetK   = 0x06
	opRetA   = 0x16
	opTax    = 0x07
	opTxa    = 0x87

	clsALU  = 0x04
	aluSrcX = 0x08
)

// validate checks what run relies on: known opcodes, jumps and scratch
// slots in range, no constant division by zero, and a final return.
func validate(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("program length %d", len(prog))
	}
	for pc, ins := range prog {
		switch op := ins.Op; op {
		case opLdW, opLdH, opLdB, opLdIW, opLdIH, opLdIB, opLdImm, opLdLen, opLdxImm, opLdxLen, opLdxMSH,
			opRetK, opRetA, opTax, opTxa:
		case opLdMem, opLdxMem, opSt, opStx:
			if ins.K >= 16 {
				return fmt.Errorf("instruction %d: scratch slot %d", pc, ins.K)
			}
		case opJa:
			if uint64(pc)+1+uint64(ins.K) >= uint64(len(prog)) {
				return fmt.Errorf("instruction %d: jump out of program", pc)
			}
		case opJeqK, opJgtK, opJgeK, opJsetK, opJeqX, opJgtX, opJgeX, opJsetX:
			if pc+1+int(max(ins.Jt, ins.Jf)) >= len(prog) {
				return fmt.Errorf("instruction %d: jump out of program", pc)
			}
		default:
			if op&0x07 != clsALU || op&^0xff != 0 {
				return fmt.Errorf("instruction %d: opcode %#x", pc, op)
			}
			switch aop := op & 0xf0; aop {
			case 0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0x80, 0xa0:
			case 0x30, 0x90:
				if op&aluSrcX == 0 && ins.K == 0 {
					return fmt.Errorf("instruction %d: division by zero", pc)
				}
			default:
				return fmt.Errorf("instruction %d: opcode %#x", pc, op)
			}
		}
	}
	if last := prog[len(prog)-1].Op; last != opRetK && last != opRetA {
		return fmt.Errorf("program does not end with a return")
	}
	return nil
}

// run executes a validated program. Loads past the end of the frame end
// the program with 0, as in the kernel and libpcap.
func run(prog []bpf.RawInstruction, pkt []byte, wireLen uint32) uint32 {
	var a, x uint32
	var mem [16]uint32
	n := uint64(len(pkt))
	for pc := 0; pc < len(prog); pc++ {
		ins := &prog[pc]
		k := ins.K
		switch ins.Op {
		case opLdB:
			if uint64(k) >= n {
				return 0
			}
			a = uint32(pkt[k])
		case opLdH:
			if uint64(k)+2 > n {
				return 0
			}
			a = uint32(pkt[k])<<8 | uint32(pkt[k+1])
		case opLdW:
			if uint64(k)+4 > n {
				return 0
			}
			a = uint32(pkt[k])<<24 | uint32(pkt[k+1])<<16 | uint32(pkt[k+2])<<8 | uint32(pkt[k+3])
		case opLdIB:
			o := uint64(x) + uint64(k)
			if o >= n {
				return 0
			}
			a = uint32(pkt[o])
		case opLdIH:
			o := uint64(x) + uint64(k)
			if o+2 > n {
				return 0
			}
			a = uint32(pkt[o])<<8 | uint32(pkt[o+1])
		case opLdIW:
			o := uint64(x) + uint64(k)
			if o+4 > n {
				return 0
			}
			a = uint32(pkt[o])<<24 | uint32(pkt[o+1])<<16 | uint32(pkt[o+2])<<8 | uint32(pkt[o+3])
		case opLdImm:
			a = k
		case opLdMem:
			a = mem[k&15]
		case opLdLen:
			a = wireLen
		case opLdxImm:
			x = k
		case opLdxMem:
			x = mem[k&15]
		case opLdxLen:
			x = wireLen
		case opLdxMSH:
			if uint64(k) >= n {
				return 0
			}
			x = uint32(pkt[k]&0x0f) * 4
		case opSt:
			mem[k&15] = a
		case opStx:
			mem[k&15] = x
		case opJa:
			pc += int(k)
		case opJeqK:
			pc += jump(a == k, ins)
		case opJgtK:
			pc += jump(a > k, ins)
		case opJgeK:
			pc += jump(a >= k, ins)
		case opJsetK:
			pc += jump(a&k != 0, ins)
		case opJeqX:
			pc += jump(a == x, ins)
		case opJgtX:
			pc += jump(a > x, ins)
		case opJgeX:
			pc += jump(a >= x, ins)
		case opJsetX:
			pc += jump(a&x != 0, ins)
		case opRetK:
			return k
		case opRetA:
			return a
		case opTax:
			x = a
		case opTxa:
			a = x
		default:
			v := k
			if ins.Op&aluSrcX != 0 {
				v = x
			}
			switch ins.Op & 0xf0 {
			case 0x00:
				a += v
			case 0x10:
				a -= v
			case 0x20:
				a *= v
			case 0x30:
				if v == 0 {
					return 0
				}
				a /= v
			case 0x40:
				a |= v
			case 0x50:
				a &= v
			case 0x60:
				a <<= v
			case 0x70:
				a >>= v
			case 0x80:
				a = -a
			case 0x90:
				if v == 0 {
					return 0
				}
				a %= v
			case 0xa0:
				a ^= v
			}
		}
	}
	return 0
}

func jump(cond bool, ins *bpf.RawInstruction) int {
	if cond {
		return int(ins.Jt)
	}
	return int(ins.Jf)
}
