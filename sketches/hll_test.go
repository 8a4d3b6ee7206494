package sketches

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// hllBound is three standard errors. With 16 registers the estimate's
// distribution is far from normal (long right tail, 1.5x the nominal error
// is seen in 1 of 300 runs), so tiny precisions get a wider bound.
func hllBound(p uint8) float64 {
	k := 3.0
	if p < 6 {
		k = 6
	}
	return k * 1.04 / math.Sqrt(float64(uint64(1)<<p))
}

func TestHLLAccuracy(t *testing.T) {
	ns := []int{0, 1, 2, 10, 100, 1000, 5000, 10_000, 30_000, 100_000, 1_000_000}
	if !testing.Short() {
		ns = append(ns, 10_000_000)
	}
	for _, p := range []uint8{4, 6, 8, 10, 12, 14, 16, 18} {
		for _, n := range ns {
			for _, parts := range []int{1, 3} {
				t.Run(fmt.Sprintf("p=%d/n=%d/parts=%d", p, n, parts), func(t *testing.T) {
					if n >= 10_000_000 && parts > 1 {
						t.Skip("one 10M run per precision is enough")
					}
					// Items are i*salt: distinct by construction. Parts overlap by
					// replaying every tenth item of the previous part, so the
					// union is what the estimate must match.
					salt := uint64(p)*1_000_003 + 1
					var merged *HLL
					for pi := range parts {
						h, err := NewHLL(p)
						if err != nil {
							t.Fatal(err)
						}
						lo, hi := pi*n/parts, (pi+1)*n/parts
						for i := lo; i < hi; i++ {
							h.AddHash(HashUint64(uint64(i) * salt))
						}
						for i := max(0, lo-n/parts); i < lo; i += 10 {
							h.AddHash(HashUint64(uint64(i) * salt))
						}
						if merged == nil {
							merged = h
						} else if err := merged.Merge(h); err != nil {
							t.Fatal(err)
						}
					}
					got := merged.Estimate()
					rel := math.Abs(float64(got)-float64(n)) / math.Max(1, float64(n))
					bound := hllBound(p)
					if n <= 100 && p >= 10 {
						bound = 0.02 // far below m the estimator is linear counting: near exact
					}
					if rel > bound {
						t.Fatalf("estimate %d for %d distinct: error %.4f > %.4f", got, n, rel, bound)
					}
				})
			}
		}
	}
}

// Duplicates do not count: a Zipf stream's estimate tracks its distinct set.
func TestHLLZipfBytes(t *testing.T) {
	for _, s := range []float64{1.1, 1.5} {
		h, _ := NewHLL(14)
		r := newRand(3)
		z := zipfGen(s, 1<<22)
		seen := map[uint64]struct{}{}
		buf := make([]byte, 0, 32)
		for range 500_000 {
			k := uint64(z(r))
			seen[k] = struct{}{}
			buf = fmt.Appendf(buf[:0], "q%d.example.com", k)
			h.AddBytes(buf)
		}
		n := float64(len(seen))
		if rel := math.Abs(float64(h.Estimate())-n) / n; rel > hllBound(14) {
			t.Errorf("zipf %v: estimate %d for %d distinct", s, h.Estimate(), len(seen))
		}
	}
}

// Average error over many sketches shows the estimator is unbiased around
// the region where raw HyperLogLog switches to linear counting (2.5m).
func TestHLLBiasAroundThreshold(t *testing.T) {
	const p = 10
	m := 1 << p
	for _, n := range []int{m, 2 * m, 5 * m / 2, 3 * m, 5 * m} {
		var sum float64
		const runs = 200
		for run := range runs {
			h, _ := NewHLL(p)
			base := uint64(run) << 32
			for i := range n {
				h.AddHash(HashUint64(base + uint64(i)))
			}
			sum += (float64(h.Estimate()) - float64(n)) / float64(n)
		}
		if bias := sum / runs; math.Abs(bias) > 0.01 {
			t.Errorf("n=%d: mean relative error %.4f", n, bias)
		}
	}
}

func TestHLLSaturatedRegisters(t *testing.T) {
	// Hashes whose bits after the index are all zero reach the top rank; the
	// estimator must stay finite.
	h, _ := NewHLL(4)
	for i := range uint64(16) {
		h.AddHash(i << 60)
	}
	if e := h.Estimate(); e == 0 || e == math.MaxUint64 {
		t.Fatalf("saturated estimate %d", e)
	}
}

func TestHLLErrorsAndReset(t *testing.T) {
	for _, p := range []uint8{0, 3, 19, 255} {
		if _, err := NewHLL(p); err == nil {
			t.Errorf("precision %d accepted", p)
		}
	}
	a, _ := NewHLL(14)
	b, _ := NewHLL(12)
	b.AddHash(1)
	if err := a.Merge(b); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("precision mismatch: %v", err)
	}
	if err := a.Merge(nil); !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("nil: %v", err)
	}
	for i := range uint64(1000) {
		a.AddHash(HashUint64(i))
	}
	a.Reset()
	if a.Estimate() != 0 || a.Precision() != 14 {
		t.Fatal("reset")
	}
	if n := testing.AllocsPerRun(100, func() {
		a.Reset()
		for i := range uint64(100) {
			a.AddHash(HashUint64(i))
		}
	}); n != 0 {
		t.Fatalf("reset+refill allocates %v", n)
	}
}

func TestHLLAllocs(t *testing.T) {
	h, _ := NewHLL(14)
	b := []byte("www.example.com")
	x := uint64(0)
	if n := testing.AllocsPerRun(1000, func() {
		h.AddHash(HashUint64(x))
		h.AddBytes(b)
		x++
	}); n != 0 {
		t.Fatalf("Add allocates %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.Estimate() }); n != 0 {
		t.Fatalf("Estimate allocates %v", n)
	}
}

// FuzzHLL drives two sketches with arbitrary operations: no panic, merge is
// commutative and idempotent, a sketch never estimates fewer than zero or
// more than a generous multiple of the items added, and estimates of small
// sets are close.
func FuzzHLL(f *testing.F) {
	f.Add(uint8(14), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(4), []byte("merge and reset, again and again"))
	f.Add(uint8(18), []byte{255, 255, 0, 0, 254, 1})
	f.Fuzz(func(t *testing.T, p uint8, ops []byte) {
		p = MinHLLPrecision + p%(MaxHLLPrecision-MinHLLPrecision+1)
		a, err := NewHLL(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewHLL(p)
		distinct := map[uint64]struct{}{}
		for i, op := range ops {
			x := HashUint64(uint64(op>>2) | uint64(i)<<8)
			switch op & 3 {
			case 0, 1:
				a.AddHash(x)
				distinct[x] = struct{}{}
			case 2:
				b.AddHash(x)
				distinct[x] = struct{}{}
			case 3:
				if op&4 != 0 {
					b.Reset()
				}
			}
		}
		ab, _ := NewHLL(p)
		ba, _ := NewHLL(p)
		_ = ab.Merge(a)
		_ = ab.Merge(b)
		_ = ba.Merge(b)
		_ = ba.Merge(a)
		if string(ab.regs) != string(ba.regs) {
			t.Fatal("merge not commutative")
		}
		e := ab.Estimate()
		_ = ab.Merge(ab)
		if ab.Estimate() != e {
			t.Fatal("self merge changed the estimate")
		}
		if n := uint64(len(distinct)); e > 4*n+4 {
			t.Fatalf("estimate %d for at most %d distinct", e, n)
		}
	})
}

func BenchmarkHLL(b *testing.B) {
	b.Run("AddHash", func(b *testing.B) {
		h, _ := NewHLL(14)
		b.ReportAllocs()
		for i := range b.N {
			h.AddHash(HashUint64(uint64(i)))
		}
	})
	b.Run("AddBytes", func(b *testing.B) {
		h, _ := NewHLL(14)
		buf := []byte("www.example.com")
		b.ReportAllocs()
		for i := range b.N {
			buf[0] = byte(i)
			h.AddBytes(buf)
		}
	})
	b.Run("Merge", func(b *testing.B) {
		x, _ := NewHLL(14)
		y, _ := NewHLL(14)
		for i := range uint64(100_000) {
			x.AddHash(HashUint64(i))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			_ = y.Merge(x)
		}
	})
	b.Run("Estimate", func(b *testing.B) {
		x, _ := NewHLL(14)
		for i := range uint64(100_000) {
			x.AddHash(HashUint64(i))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			_ = x.Estimate()
		}
	})
}
