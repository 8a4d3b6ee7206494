package sketches

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
)

// checkSummary verifies the internal invariants: every entry sits in the
// table exactly once and is found from its home slot, heap snapshots are
// lower bounds in heap order, and counters sum to at most the total (exactly
// the total until a merge).
func checkSummary[S any](s *summary[S]) error {
	if len(s.entries) > s.capacity || len(s.keys) != len(s.entries) || len(s.heap) != len(s.entries) {
		return fmt.Errorf("sizes: %d entries, %d keys, %d heap, capacity %d", len(s.entries), len(s.keys), len(s.heap), s.capacity)
	}
	if 2*len(s.entries) > len(s.table) {
		return fmt.Errorf("load %d/%d", len(s.entries), len(s.table))
	}
	seen := make([]bool, len(s.entries))
	used := 0
	m := s.mask()
	for p, e := range s.table {
		if e == 0 {
			continue
		}
		used++
		i := e - 1
		if int(i) >= len(s.entries) || seen[i] {
			return fmt.Errorf("slot %d: bad or duplicate entry %d", p, i)
		}
		seen[i] = true
		// No empty slot between home and p.
		for q := s.slot(s.entries[i].hash); q != p; q = (q + 1) & m {
			if s.table[q] == 0 {
				return fmt.Errorf("entry %d unreachable from home", i)
			}
		}
	}
	if used != len(s.entries) {
		return fmt.Errorf("%d slots used for %d entries", used, len(s.entries))
	}
	inHeap := make([]bool, len(s.entries))
	var sum uint64
	for j, h := range s.heap {
		if inHeap[h.idx] {
			return fmt.Errorf("entry %d twice in heap", h.idx)
		}
		inHeap[h.idx] = true
		e := s.entries[h.idx]
		if h.count > e.count {
			return fmt.Errorf("heap snapshot %d above count %d", h.count, e.count)
		}
		if j > 0 && s.heap[(j-1)/2].count > h.count {
			return fmt.Errorf("heap order broken at %d", j)
		}
		if e.err > e.count {
			return fmt.Errorf("error %d above count %d", e.err, e.count)
		}
		sum += e.count
	}
	if sum > s.total {
		return fmt.Errorf("counters sum %d above total %d", sum, s.total)
	}
	if s.filter != nil && s.full() {
		f := s.floor()
		for j, b := range s.filter {
			if b > f {
				return fmt.Errorf("filter bucket %d is %d, above the minimum %d", j, b, f)
			}
		}
	}
	return nil
}

// FuzzTopK runs arbitrary sequences of adds, merges, self-merges and resets
// on a generic TopK[string] and a StringTopK side by side, against exact
// counts: no panic, internal invariants hold, both agree exactly, and the
// Space-Saving bound holds throughout.
func FuzzTopK(f *testing.F) {
	f.Add(uint8(3), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add(uint8(1), []byte("abcabcabcabcxyz\x06\x07\x0e"))
	f.Add(uint8(16), []byte{0xf0, 0xf1, 0xf2, 0xf3, 0x04, 0x0c, 0x14, 0x06, 0x8f, 0x07})
	f.Add(uint8(0x82), []byte{0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x04, 0x0c, 0x06, 0x48, 0x50, 0x0f, 0x07})
	f.Fuzz(fuzzTopKBody)
}

func fuzzTopKBody(t *testing.T, capacity uint8, ops []byte) {
	{
		if len(ops) > 1<<14 {
			ops = ops[:1<<14]
		}
		k := 1 + int(capacity%16)
		ga, _ := NewTopK(k, HashString)
		gb, _ := NewTopK(k, HashString)
		sa, _ := NewStringTopK(k)
		sb, _ := NewStringTopK(k)
		if capacity&0x80 != 0 {
			ga.WithAdmissionFilter()
			gb.WithAdmissionFilter()
			sa.WithAdmissionFilter()
			sb.WithAdmissionFilter()
		}
		ta, tb := map[string]uint64{}, map[string]uint64{}
		for i := 0; i < len(ops); i++ {
			op := ops[i]
			key := strconv.Itoa(int(op >> 3))
			w := uint64(1)
			if op&1 != 0 && i+1 < len(ops) {
				i++
				w = uint64(ops[i]) // may be 0: ignored
			}
			switch op & 7 {
			case 0, 1, 2, 3:
				ga.AddWithCount(key, w)
				sa.AddBytes([]byte(key), w)
				ta[key] += w
			case 4, 5:
				gb.AddWithCount(key, w)
				sb.Add(key, w)
				tb[key] += w
			case 6:
				ga.Merge(gb)
				sa.Merge(sb)
				for k, v := range tb {
					ta[k] += v
				}
			case 7:
				if op&8 != 0 {
					if ga.Total() > 1<<40 {
						continue // keep the oracle's sums from overflowing
					}
					ga.Merge(ga)
					sa.Merge(sa)
					for k := range ta {
						ta[k] *= 2
					}
				} else {
					gb.Reset()
					sb.Reset()
					clear(tb)
				}
			}
			for _, err := range []error{checkSummary(&ga.s), checkSummary(&gb.s), checkSummary(&sa.s), checkSummary(&sb.s)} {
				if err != nil {
					t.Fatalf("op %d: %v", i, err)
				}
			}
		}
		for _, x := range []struct {
			g     *TopK[string]
			s     *StringTopK
			truth map[string]uint64
		}{{ga, sa, ta}, {gb, sb, tb}} {
			gt, st := x.g.Top(0, nil), x.s.Top(0, nil)
			if !slices.Equal(gt, st) {
				t.Fatalf("generic %v, string %v", gt, st)
			}
			for n := range 5 {
				if got := x.s.Top(n, nil); n > 0 && !slices.Equal(got, st[:min(n, len(st))]) {
					t.Fatalf("Top(%d) %v is not a prefix of %v", n, got, st)
				}
			}
			checkTopK(t, gt, x.g.Bounds, x.g.Total(), x.truth, k, float64(x.g.Total())/float64(k))
		}
	}
}
