package sketches

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

type keyDist struct {
	name string
	gen  func(r *rand.Rand) uint64
}

var keyDists = []keyDist{
	{"uniform", func(r *rand.Rand) uint64 { return r.Uint64N(100_000) }},
	{"zipf1.1", func(r *rand.Rand) uint64 { return uint64(zipfGen(1.1, 1<<20)(r)) }},
	{"zipf1.5", func(r *rand.Rand) uint64 { return uint64(zipfGen(1.5, 1<<20)(r)) }},
	{"all-equal", func(*rand.Rand) uint64 { return 7 }},
}

type weighted struct {
	key uint64
	w   uint64
}

func genStream(d keyDist, n int, weights bool, seed uint64) []weighted {
	r := newRand(seed)
	out := make([]weighted, n)
	for i := range out {
		w := uint64(1)
		if weights {
			w = 1 + r.Uint64N(1500) // like packet sizes
		}
		out[i] = weighted{d.gen(r), w}
	}
	return out
}

// checkTopK verifies the Space-Saving guarantees of a sketch against exact
// counts. bound is the allowed overestimate (total/capacity, or the sum of
// the parts' bounds after merging unequal capacities).
func checkTopK[K comparable](t *testing.T, got []Item[K], est func(K) (uint64, uint64, bool), total uint64, truth map[K]uint64, capacity int, bound float64) {
	t.Helper()
	var sum uint64
	for _, c := range truth {
		sum += c
	}
	if total != sum {
		t.Fatalf("total %d, want %d", total, sum)
	}
	if len(got) > capacity {
		t.Fatalf("%d items, capacity %d", len(got), capacity)
	}
	present := make(map[K]bool, len(got))
	for i, it := range got {
		if present[it.Key] {
			t.Fatalf("duplicate key %v", it.Key)
		}
		present[it.Key] = true
		tr := truth[it.Key]
		if it.Estimate < tr || float64(it.Estimate-tr) > bound {
			t.Fatalf("key %v: estimate %d, true %d, bound %.1f", it.Key, it.Estimate, tr, bound)
		}
		if _, lower, _ := est(it.Key); lower > tr {
			t.Fatalf("key %v: lower bound %d > true %d", it.Key, lower, tr)
		}
		if i > 0 && got[i-1].Estimate < it.Estimate {
			t.Fatalf("not sorted at %d", i)
		}
	}
	for k, c := range truth {
		if float64(c) > bound && !present[k] {
			t.Fatalf("heavy key %v (true %d > %.1f) missing", k, c, bound)
		}
	}
}

func TestTopKAccuracy(t *testing.T) {
	for _, d := range keyDists {
		for _, n := range sizesFor(t) {
			for _, weights := range []bool{false, true} {
				for _, parts := range []int{1, 4} {
					for _, capacity := range []int{16, 500} {
						for _, filtered := range []bool{false, true} {
							name := fmt.Sprintf("%s/n=%d/w=%v/parts=%d/cap=%d/filter=%v", d.name, n, weights, parts, capacity, filtered)
							t.Run(name, func(t *testing.T) {
								if n >= 1_000_000 && (parts == 1 || capacity < 500) {
									t.Skip("one merged configuration per distribution at 1M keeps the run short")
								}
								stream := genStream(d, n, weights, uint64(n+capacity))
								truth := map[uint64]uint64{}
								var merged *TopK[uint64]
								for _, part := range partition(stream, parts) {
									tk, err := NewTopK(capacity, HashUint64)
									if err != nil {
										t.Fatal(err)
									}
									if filtered {
										tk.WithAdmissionFilter()
									}
									for _, x := range part {
										if x.w == 1 {
											tk.Add(x.key)
										} else {
											tk.AddWithCount(x.key, x.w)
										}
										truth[x.key] += x.w
									}
									if merged == nil {
										merged = tk
									} else {
										merged.Merge(tk)
									}
								}
								bound := float64(merged.Total()) / float64(capacity)
								checkTopK(t, merged.Top(0, nil), merged.Bounds, merged.Total(), truth, capacity, bound)
								if merged.Len() != min(len(truth), capacity) {
									t.Fatalf("len %d, distinct %d", merged.Len(), len(truth))
								}
								if top := merged.Top(3, nil); len(top) != min(3, merged.Len()) {
									t.Fatalf("Top(3) gave %d", len(top))
								}
								if err := checkSummary(&merged.s); err != nil {
									t.Fatal(err)
								}
							})
						}
					}
				}
			}
		}
	}
}

// Merging sketches of different capacities keeps the receiver's capacity and
// the sum of the parts' bounds.
func TestTopKMergeUnequalCapacities(t *testing.T) {
	for _, filters := range [][4]bool{{}, {true, true, true, true}, {true, false, true, false}, {false, true, false, true}} {
		t.Run(fmt.Sprint(filters), func(t *testing.T) { mergeUnequal(t, filters) })
	}
}

func mergeUnequal(t *testing.T, filters [4]bool) {
	caps := []int{50, 200, 10, 100}
	stream := genStream(keyDists[1], 200_000, true, 3)
	truth := map[uint64]uint64{}
	var merged *TopK[uint64]
	var bound float64
	for i, part := range partition(stream, len(caps)) {
		tk, _ := NewTopK(caps[i], HashUint64)
		if filters[i] {
			tk.WithAdmissionFilter()
		}
		var n uint64
		for _, x := range part {
			tk.AddWithCount(x.key, x.w)
			truth[x.key] += x.w
			n += x.w
		}
		bound += float64(n) / float64(caps[i])
		if merged == nil {
			merged = tk
		} else {
			merged.Merge(tk)
		}
	}
	checkTopK(t, merged.Top(0, nil), merged.Bounds, merged.Total(), truth, caps[0], bound)
}

// TestAdmissionFilterFlood: a flood of one-off keys around a few heavy
// ones. The filtered sketch keeps every guarantee and replaces far fewer
// counters than plain Space-Saving (admissions are counted by nextSeq).
func TestAdmissionFilterFlood(t *testing.T) {
	const capacity = 256
	r := newRand(9)
	var stream []weighted
	for i := range 300_000 {
		w := 40 + r.Uint64N(1460)
		if i%50 == 0 {
			stream = append(stream, weighted{uint64(i % 7), 1500}) // seven heavy keys
		} else {
			stream = append(stream, weighted{1_000_000 + uint64(i), w})
		}
	}
	truth := map[uint64]uint64{}
	for _, x := range stream {
		truth[x.key] += x.w
	}
	plain, _ := NewTopK(capacity, HashUint64)
	filtered, _ := NewTopK(capacity, HashUint64)
	filtered.WithAdmissionFilter()
	for _, x := range stream {
		plain.AddWithCount(x.key, x.w)
		filtered.AddWithCount(x.key, x.w)
	}
	for _, tk := range []*TopK[uint64]{plain, filtered} {
		checkTopK(t, tk.Top(0, nil), tk.Bounds, tk.Total(), truth, capacity, float64(tk.Total())/capacity)
		if err := checkSummary(&tk.s); err != nil {
			t.Fatal(err)
		}
		top := tk.Top(7, nil)
		for _, it := range top {
			if it.Key >= 7 {
				t.Errorf("a one-off key %d is in the top 7: %v", it.Key, top)
			}
		}
	}
	if p, f := plain.s.nextSeq, filtered.s.nextSeq; f*2 > p {
		t.Errorf("filtered sketch admitted %d keys, plain %d: expected far fewer", f, p)
	} else {
		t.Logf("admissions: plain %d, filtered %d", p, f)
	}
}

// Merge trees (merging merged sketches) keep the bound too.
func TestTopKMergeTree(t *testing.T) {
	const capacity = 64
	stream := genStream(keyDists[1], 400_000, false, 4)
	truth := map[uint64]uint64{}
	var level []*TopK[uint64]
	for _, part := range partition(stream, 8) {
		tk, _ := NewTopK(capacity, HashUint64)
		for _, x := range part {
			tk.Add(x.key)
			truth[x.key]++
		}
		level = append(level, tk)
	}
	for len(level) > 1 {
		var next []*TopK[uint64]
		for i := 0; i < len(level); i += 2 {
			level[i].Merge(level[i+1])
			next = append(next, level[i])
		}
		level = next
	}
	m := level[0]
	checkTopK(t, m.Top(0, nil), m.Bounds, m.Total(), truth, capacity, float64(m.Total())/capacity)
}

func TestTopKSmallExact(t *testing.T) {
	tk, err := NewTopK(10, HashString)
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Top(0, nil); len(got) != 0 {
		t.Fatal("empty sketch has items")
	}
	tk.Add("a")
	tk.AddWithCount("b", 5)
	tk.AddWithCount("c", 5)
	tk.AddWithCount("d", 0) // ignored
	tk.Add("a")
	got := tk.Top(0, nil)
	want := []Item[string]{{"b", 5}, {"c", 5}, {"a", 2}}
	if HashString("c") < HashString("b") {
		want[0], want[1] = want[1], want[0]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if tk.Total() != 12 || tk.Len() != 3 || tk.Floor() != 0 {
		t.Fatalf("total %d len %d floor %d", tk.Total(), tk.Len(), tk.Floor())
	}
	// Top appends.
	dst := []Item[string]{{"x", 1}}
	if got := tk.Top(1, dst); len(got) != 2 || got[0].Key != "x" {
		t.Fatalf("Top does not append: %v", got)
	}
	// Capacity 1: the single counter always holds the last key seen.
	one, _ := NewTopK(1, HashString)
	one.Add("a")
	one.AddWithCount("b", 3)
	if got := one.Top(0, nil); len(got) != 1 || got[0] != (Item[string]{"b", 4}) {
		t.Fatalf("capacity 1: %v", got)
	}
	// Self-merge doubles.
	tk.Merge(tk)
	if got := tk.Top(1, nil); got[0].Estimate != 10 || tk.Total() != 24 {
		t.Fatalf("self merge: %v total %d", got, tk.Total())
	}
	tk.Merge(nil)
}

func TestTopKDeterministicTies(t *testing.T) {
	build := func() []Item[uint64] {
		tk, _ := NewTopK(100, HashUint64)
		for k := range uint64(300) {
			tk.AddWithCount(k, 1+k%3)
		}
		return tk.Top(0, nil)
	}
	a, b := build(), build()
	if !slices.Equal(a, b) {
		t.Fatal("same operations gave different Top")
	}
	for i := 1; i < len(a); i++ {
		if a[i-1].Estimate == a[i].Estimate && HashUint64(a[i-1].Key) > HashUint64(a[i].Key) {
			t.Fatalf("tie at %d not ordered by hash", i)
		}
	}
}

func TestTopKConstructorErrors(t *testing.T) {
	for _, c := range []int{0, -1, MaxTopKCapacity + 1} {
		if _, err := NewTopK(c, HashUint64); err == nil {
			t.Errorf("capacity %d accepted", c)
		}
		if _, err := NewStringTopK(c); err == nil {
			t.Errorf("string capacity %d accepted", c)
		}
	}
	if _, err := NewTopK[int](10, nil); err == nil {
		t.Error("nil hash accepted")
	}
}

// StringTopK is the same algorithm as TopK[string] with HashString: the two
// must agree exactly, through merges too.
func TestStringTopKMatchesGeneric(t *testing.T) {
	for _, d := range keyDists {
		for _, n := range []int{1, 100, 50_000} {
			t.Run(fmt.Sprintf("%s/%d", d.name, n), func(t *testing.T) {
				stream := genStream(d, n, true, uint64(n))
				truth := map[string]uint64{}
				var g *TopK[string]
				var s *StringTopK
				buf := make([]byte, 0, 64)
				for pi, part := range partition(stream, 3) {
					gp, _ := NewTopK(40, HashString)
					sp, _ := NewStringTopK(40)
					for _, x := range part {
						k := strconv.FormatUint(x.key, 10) + ".example.com"
						gp.AddWithCount(k, x.w)
						buf = append(buf[:0], k...)
						if x.w%2 == 0 {
							sp.AddBytes(buf, x.w)
						} else {
							sp.Add(k, x.w)
						}
						truth[k] += x.w
					}
					if pi == 0 {
						g, s = gp, sp
					} else {
						g.Merge(gp)
						s.Merge(sp)
					}
				}
				gt, st := g.Top(0, nil), s.Top(0, nil)
				if !slices.Equal(gt, st) {
					t.Fatalf("generic %v\nstring %v", gt, st)
				}
				checkTopK(t, st, s.Bounds, s.Total(), truth, 40, float64(s.Total())/40)
				if s.Len() != g.Len() || s.Floor() != g.Floor() || s.Capacity() != 40 {
					t.Fatal("len/floor/capacity differ")
				}
			})
		}
	}
}

func TestTopKAllocs(t *testing.T) {
	const capacity = 256
	tk, _ := NewTopK(capacity, HashUint64)
	for k := range uint64(capacity) {
		tk.AddWithCount(k, 1000)
	}
	k := uint64(0)
	if a := testing.AllocsPerRun(5000, func() {
		tk.Add(k % capacity)
		tk.AddWithCount(k%capacity, 5)
		k++
	}); a != 0 {
		t.Fatalf("tracked Add allocates %v", a)
	}
	next := uint64(1 << 40)
	if a := testing.AllocsPerRun(5000, func() {
		tk.Add(next)
		tk.AddWithCount(next+1, 2)
		next += 2
	}); a != 0 {
		t.Fatalf("untracked Add on a full sketch allocates %v", a)
	}
	// Reset keeps memory: refilling the same keys allocates nothing.
	if a := testing.AllocsPerRun(20, func() {
		tk.Reset()
		for k := range uint64(capacity) {
			tk.Add(k)
		}
	}); a != 0 {
		t.Fatalf("Reset+refill allocates %v", a)
	}
	if tk.Len() != capacity || tk.Total() != capacity {
		t.Fatalf("after reset: len %d total %d", tk.Len(), tk.Total())
	}
}

func TestStringTopKAllocs(t *testing.T) {
	const capacity = 128
	tk, _ := NewStringTopK(capacity)
	names := make([][]byte, capacity)
	for i := range names {
		names[i] = fmt.Appendf(nil, "name-%d.example.com", i)
		tk.AddBytes(names[i], 100)
	}
	i := 0
	if a := testing.AllocsPerRun(5000, func() {
		tk.AddBytes(names[i%capacity], 1)
		i++
	}); a != 0 {
		t.Fatalf("tracked AddBytes allocates %v", a)
	}
	// Untracked keys recycle the evicted counter's buffer once it is big
	// enough: with names no longer than the ones seen, no allocation.
	fresh := make([][]byte, 5000)
	for i := range fresh {
		fresh[i] = fmt.Appendf(nil, "x%d.example.com", i)
	}
	i = 0
	if a := testing.AllocsPerRun(4000, func() {
		tk.AddBytes(fresh[i], 1)
		i++
	}); a != 0 {
		t.Fatalf("untracked AddBytes allocates %v", a)
	}
	if a := testing.AllocsPerRun(20, func() {
		tk.Reset()
		for _, n := range names {
			tk.AddBytes(n, 1)
		}
	}); a != 0 {
		t.Fatalf("Reset+refill allocates %v", a)
	}
}

func BenchmarkTopK(b *testing.B) {
	const capacity = 8192
	r := newRand(1)
	zipf := zipfGen(1.1, 1<<22)
	keys := make([]uint64, 1<<16)
	for i := range keys {
		keys[i] = uint64(zipf(r))
	}
	b.Run("AddZipf", func(b *testing.B) {
		tk, _ := NewTopK(capacity, HashUint64)
		for _, k := range keys {
			tk.Add(k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			tk.Add(keys[i&(len(keys)-1)])
		}
	})
	b.Run("AddWithCountTracked", func(b *testing.B) {
		tk, _ := NewTopK(capacity, HashUint64)
		for k := range uint64(capacity) {
			tk.Add(k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			tk.AddWithCount(uint64(i)&(capacity-1), 1500)
		}
	})
	b.Run("AddUntrackedFull", func(b *testing.B) {
		tk, _ := NewTopK(capacity, HashUint64)
		for k := range uint64(capacity) {
			tk.Add(k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			tk.Add(uint64(i) + 1<<40)
		}
	})
	b.Run("Merge", func(b *testing.B) {
		src, _ := NewTopK(capacity, HashUint64)
		dst, _ := NewTopK(capacity, HashUint64)
		for i, k := range keys {
			if i&1 == 0 {
				src.Add(k)
			} else {
				dst.Add(k)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			dst.Merge(src)
		}
	})
	b.Run("Top10", func(b *testing.B) {
		tk, _ := NewTopK(capacity, HashUint64)
		for _, k := range keys {
			tk.Add(k)
		}
		dst := make([]Item[uint64], 0, 10)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			dst = tk.Top(10, dst[:0])
		}
	})
}

func BenchmarkStringTopK(b *testing.B) {
	const capacity = 8192
	r := newRand(1)
	zipf := zipfGen(1.1, 1<<22)
	names := make([][]byte, 1<<16)
	for i := range names {
		names[i] = fmt.Appendf(nil, "host%d.example.com", uint64(zipf(r)))
	}
	b.Run("AddBytesZipf", func(b *testing.B) {
		tk, _ := NewStringTopK(capacity)
		for _, n := range names {
			tk.AddBytes(n, 1)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			tk.AddBytes(names[i&(len(names)-1)], 1)
		}
	})
	b.Run("AddBytesTracked", func(b *testing.B) {
		tk, _ := NewStringTopK(capacity)
		for _, n := range names[:capacity] {
			tk.AddBytes(n, 1)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			tk.AddBytes(names[i&(capacity-1)], 1)
		}
	})
	b.Run("Merge", func(b *testing.B) {
		src, _ := NewStringTopK(capacity)
		dst, _ := NewStringTopK(capacity)
		for i, n := range names {
			if i&1 == 0 {
				src.AddBytes(n, 1)
			} else {
				dst.AddBytes(n, 1)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			dst.Merge(src)
		}
	})
}

// Merging windows again and again (the merged-window query) reuses the
// scratch and key buffers once they exist.
func TestTopKMergeReusesMemory(t *testing.T) {
	src, _ := NewStringTopK(256)
	dst, _ := NewStringTopK(256)
	g, _ := NewTopK(256, HashString)
	gs, _ := NewTopK(256, HashString)
	r := newRand(5)
	for i := range 5000 {
		k := fmt.Sprintf("k%d.example.com", uint64(zipfGen(1.1, 5000)(r)))
		if i&1 == 0 {
			src.Add(k, 1)
			gs.AddWithCount(k, 1)
		} else {
			dst.Add(k, 1)
			g.AddWithCount(k, 1)
		}
	}
	for range 3 {
		dst.Merge(src)
		g.Merge(gs)
	}
	if a := testing.AllocsPerRun(20, func() { dst.Merge(src); g.Merge(gs) }); a != 0 {
		t.Fatalf("warm Merge allocates %v", a)
	}
}
