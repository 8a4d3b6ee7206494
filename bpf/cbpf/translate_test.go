package cbpf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// namedFilter is one tcpdump expression with the classic program tcpdump compiled for it.
type namedFilter struct {
	expr string
	prog []bpf.Instruction
}

// readFilters parses testdata/filters.txt (tcpdump -ddd output per expression).
func readFilters(tb testing.TB) []namedFilter {
	tb.Helper()
	f, err := os.Open("testdata/filters.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []namedFilter
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "= "):
			out = append(out, namedFilter{expr: strings.TrimPrefix(line, "= ")})
		default:
			fields := strings.Fields(line)
			if len(fields) == 1 {
				continue // instruction count
			}
			if len(fields) != 4 || len(out) == 0 {
				tb.Fatalf("bad line %q", line)
			}
			var v [4]uint64
			for i, s := range fields {
				if v[i], err = strconv.ParseUint(s, 10, 32); err != nil {
					tb.Fatalf("bad line %q: %v", line, err)
				}
			}
			last := &out[len(out)-1]
			last.prog = append(last.prog, bpf.RawInstruction{
				Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3]),
			})
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestTranslateTcpdumpPrograms(t *testing.T) {
	for _, f := range readFilters(t) {
		for _, acc := range []Access{Direct, SKBLoadBytes} {
			insns, err := Translate(f.prog, Options{Access: acc})
			if err != nil {
				t.Errorf("%q access %d: %v", f.expr, acc, err)
				continue
			}
			if len(insns) < len(f.prog) {
				t.Errorf("%q: %d eBPF instructions for %d classic", f.expr, len(insns), len(f.prog))
			}
		}
	}
}

func TestTranslateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog []bpf.Instruction
		want error
	}{
		{"empty", nil, nil},
		{"no return", []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: 1}}, nil},
		{"ancillary", []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtProto}, bpf.RetA{}}, ErrUnsupported},
		{"negative offset", []bpf.Instruction{bpf.LoadAbsolute{Off: 0xfffff000, Size: 4}, bpf.RetA{}}, ErrUnsupported},
		{"bad size", []bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: 3}, bpf.RetA{}}, ErrUnsupported},
		{"div by zero", []bpf.Instruction{bpf.ALUOpConstant{Op: bpf.ALUOpDiv, Val: 0}, bpf.RetA{}}, nil},
		{"jump past end", []bpf.Instruction{bpf.Jump{Skip: 5}, bpf.RetA{}}, nil},
		{"scratch range", []bpf.Instruction{bpf.StoreScratch{Src: bpf.RegA, N: 16}, bpf.RetA{}}, nil},
		{"unknown raw", []bpf.Instruction{bpf.RawInstruction{Op: 0xffff}, bpf.RetA{}}, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Translate(tc.prog, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v is not %v", err, tc.want)
			}
		})
	}
}

// FuzzTranslate feeds arbitrary raw classic programs: Translate must either
// fail cleanly or produce at least one instruction per reachable classic
// instruction (unreachable ones are dropped on purpose).
func FuzzTranslate(f *testing.F) {
	for _, nf := range readFilters(f) {
		var seed []byte
		for _, in := range nf.prog {
			ri := in.(bpf.RawInstruction)
			seed = fmt.Appendf(seed, "%c%c%c%c%c%c%c%c", byte(ri.Op), byte(ri.Op>>8), ri.Jt, ri.Jf,
				byte(ri.K), byte(ri.K>>8), byte(ri.K>>16), byte(ri.K>>24))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var prog []bpf.Instruction
		for len(b) >= 8 && len(prog) < 64 {
			prog = append(prog, bpf.RawInstruction{
				Op: uint16(b[0]) | uint16(b[1])<<8, Jt: b[2], Jf: b[3],
				K: uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24,
			})
			b = b[8:]
		}
		for _, acc := range []Access{Direct, SKBLoadBytes} {
			insns, err := Translate(prog, Options{Access: acc})
			if err != nil {
				continue
			}
			ins := make([]bpf.Instruction, len(prog))
			for i, in := range prog {
				ins[i] = in.(bpf.RawInstruction).Disassemble()
			}
			live, err := reachable(ins)
			if err != nil {
				t.Fatalf("translated a program whose reachability fails: %v", err)
			}
			n := 0
			for _, l := range live {
				if l {
					n++
				}
			}
			if len(insns) < n {
				t.Fatalf("%d instructions for %d reachable classic", len(insns), n)
			}
		}
	})
}
