package cbpf

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/bpf/internal/frames"
	"github.com/visorng/visor/bpf/internal/testutil"
)

// fixtureFrames reads up to max Ethernet frames from each capture in the
// shared fixtures; nil when the fixtures are absent.
func fixtureFrames(tb testing.TB, max int) [][]byte {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "..", "shared", "fixtures", "*.pcap"))
	var out [][]byte
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil || r.LinkType() != layers.LinkTypeEthernet {
			f.Close()
			continue
		}
		for n := 0; n < max; n++ {
			data, _, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				tb.Fatalf("%s: %v", p, err)
			}
			out = append(out, data)
		}
		f.Close()
	}
	return out
}

func loadTranslated(tb testing.TB, prog []bpf.Instruction, acc Access) *ebpf.Program {
	tb.Helper()
	insns, err := Translate(prog, Options{Access: acc})
	if err != nil {
		tb.Fatal(err)
	}
	typ := ebpf.XDP
	if acc == SKBLoadBytes {
		typ = ebpf.SchedCLS
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: typ, Instructions: insns, License: "GPL"})
	if err != nil {
		tb.Fatalf("load: %+v", err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// TestTranslationMatchesClassicVM runs tcpdump's programs for each
// expression both in x/net's classic interpreter and, translated, in the
// kernel (XDP and TC contexts), and demands identical return values.
func TestTranslationMatchesClassicVM(t *testing.T) {
	testutil.RequireRoot(t)
	corpus := append(frames.Corpus(), fixtureFrames(t, 500)...)
	if len(fixtureFrames(t, 1)) == 0 {
		t.Log("shared fixtures not found; comparing on synthetic frames only")
	}
	for _, f := range readFilters(t) {
		t.Run(f.expr, func(t *testing.T) {
			vm, err := bpf.NewVM(disassemble(f.prog))
			if err != nil {
				t.Fatal(err)
			}
			for _, acc := range []Access{Direct, SKBLoadBytes} {
				p := loadTranslated(t, f.prog, acc)
				matches := 0
				for i, frame := range corpus {
					want, err := vm.Run(frame)
					if err != nil {
						t.Fatal(err)
					}
					got, err := p.Run(&ebpf.RunOptions{Data: frame})
					if acc == SKBLoadBytes && errors.Is(err, unix.EINVAL) && shortIP(frame) {
						continue // the skb test harness refuses IP frames shorter than an IP header
					}
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if got != uint32(want) {
						t.Fatalf("access %d frame %d (%x): kernel %d, classic VM %d", acc, i, frame, got, want)
					}
					if want != 0 {
						matches++
					}
				}
				if acc == Direct {
					t.Logf("%d of %d frames match", matches, len(corpus))
				}
			}
		})
	}
}

// TestTranslationALU exercises the arithmetic and jump forms tcpdump rarely
// emits, including shifts by 32 or more and division by a zero X.
func TestTranslationALU(t *testing.T) {
	testutil.RequireRoot(t)
	frame := frames.NonIP(nil, 0x88b5, []byte{0x45, 0, 0, 40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	var progs [][]bpf.Instruction
	ops := []bpf.ALUOp{bpf.ALUOpAdd, bpf.ALUOpSub, bpf.ALUOpMul, bpf.ALUOpDiv, bpf.ALUOpOr, bpf.ALUOpAnd,
		bpf.ALUOpShiftLeft, bpf.ALUOpShiftRight, bpf.ALUOpMod, bpf.ALUOpXor}
	for _, op := range ops {
		for _, x := range []uint32{0, 1, 3, 31, 32, 33, 0xffffffff} {
			progs = append(progs,
				[]bpf.Instruction{
					bpf.LoadAbsolute{Off: 14, Size: 4},
					bpf.LoadConstant{Dst: bpf.RegX, Val: x},
					bpf.ALUOpX{Op: op},
					bpf.StoreScratch{Src: bpf.RegA, N: 3},
					bpf.LoadScratch{Dst: bpf.RegX, N: 3},
					bpf.TXA{},
					bpf.RetA{},
				})
			if x != 0 || (op != bpf.ALUOpDiv && op != bpf.ALUOpMod) {
				progs = append(progs, []bpf.Instruction{
					bpf.LoadAbsolute{Off: 16, Size: 2},
					bpf.ALUOpConstant{Op: op, Val: x},
					bpf.RetA{},
				})
			}
		}
	}
	for _, cond := range []bpf.JumpTest{bpf.JumpEqual, bpf.JumpNotEqual, bpf.JumpGreaterThan, bpf.JumpLessThan,
		bpf.JumpGreaterOrEqual, bpf.JumpLessOrEqual, bpf.JumpBitsSet, bpf.JumpBitsNotSet} {
		for _, v := range []uint32{0, 0x45, 0x46, 0x80000000} {
			progs = append(progs,
				[]bpf.Instruction{
					bpf.LoadAbsolute{Off: 14, Size: 1},
					bpf.JumpIf{Cond: cond, Val: v, SkipTrue: 1},
					bpf.RetConstant{Val: 1},
					bpf.RetConstant{Val: 2},
				},
				[]bpf.Instruction{
					bpf.LoadMemShift{Off: 14},
					bpf.LoadConstant{Dst: bpf.RegA, Val: v},
					bpf.JumpIfX{Cond: cond, SkipFalse: 2},
					bpf.LoadIndirect{Off: 2, Size: 2},
					bpf.RetA{},
					bpf.LoadExtension{Num: bpf.ExtLen},
					bpf.RetA{},
				})
		}
	}
	progs = append(progs,
		[]bpf.Instruction{bpf.LoadAbsolute{Off: 0xfff0, Size: 4}, bpf.RetConstant{Val: 7}},
		[]bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegX, Val: 0xfffffff0}, bpf.LoadIndirect{Off: 0x20, Size: 1}, bpf.RetConstant{Val: 7}},
		[]bpf.Instruction{bpf.LoadAbsolute{Off: uint32(len(frame) - 2), Size: 4}, bpf.RetConstant{Val: 7}},
		[]bpf.Instruction{bpf.Jump{Skip: 1}, bpf.RetConstant{Val: 1}, bpf.RetConstant{Val: 9}},
	)
	for i, prog := range progs {
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("prog %d: %v", i, err)
		}
		want, err := vm.Run(frame)
		if err != nil {
			t.Fatal(err)
		}
		for _, acc := range []Access{Direct, SKBLoadBytes} {
			got, err := loadTranslated(t, prog, acc).Run(&ebpf.RunOptions{Data: frame})
			if err != nil {
				t.Fatalf("prog %d access %d: %v", i, acc, err)
			}
			if got != uint32(want) {
				t.Errorf("prog %d %v access %d: kernel %d, classic VM %d", i, prog, acc, got, want)
			}
		}
	}
}

func disassemble(prog []bpf.Instruction) []bpf.Instruction {
	out := make([]bpf.Instruction, len(prog))
	for i, in := range prog {
		if raw, ok := in.(bpf.RawInstruction); ok {
			in = raw.Disassemble()
		}
		out[i] = in
	}
	return out
}

// shortIP reports an untagged IPv4/IPv6 frame cut inside its IP header.
func shortIP(frame []byte) bool {
	if len(frame) < 14 {
		return true
	}
	switch uint16(frame[12])<<8 | uint16(frame[13]) {
	case 0x0800:
		return len(frame) < 14+20
	case 0x86dd:
		return len(frame) < 14+40
	}
	return false
}

// TestTranslationNegate covers NegateA, which x/net's interpreter lacks.
func TestTranslationNegate(t *testing.T) {
	testutil.RequireRoot(t)
	prog := []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: 5}, bpf.NegateA{}, bpf.RetA{}}
	frame := frames.NonIP(nil, 0x88b5, make([]byte, 46))
	for _, acc := range []Access{Direct, SKBLoadBytes} {
		got, err := loadTranslated(t, prog, acc).Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		if want := uint32(0xfffffffb); got != want {
			t.Errorf("access %d: got %#x, want %#x", acc, got, want)
		}
	}
}
