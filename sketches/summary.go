package sketches

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// summary is the Space-Saving core shared by TopK and StringTopK. It knows
// counts, hashes, the min-heap and the hash table; the wrappers own the keys
// (S is the stored key type) and key equality, so the string variant can
// compare against a []byte without converting it.
//
// Why Space-Saving and not Count-Min plus a candidate set: it is
// deterministic (no random hash rows, so results do not depend on a seed),
// each tracked key carries its own overestimation bound, memory is exactly
// capacity entries, and the guarantees are simple and tight: with total
// weight N and capacity k, every estimate lies in [true, true + N/k] and every
// key whose true weight exceeds N/k is tracked. A CMS needs a much larger
// table for the same bound and still needs a heap to know which keys to
// report.
//
// Weighted updates rule out the constant-time "stream summary" bucket list,
// so the minimum is found with a lazy min-heap: heap slots hold a snapshot of
// a counter taken when it was last placed, which is a lower bound because
// counters only grow. Updating a tracked key touches only its counter (one
// hash probe and an add); only eviction refreshes stale snapshots at the
// root until the root is current, at which point it is the true minimum.
// Each refresh is paid for by an earlier update, so the amortised cost stays
// O(log k) per update while the common case (a heavy key seen again) is O(1).
type summary[S any] struct {
	capacity int
	entries  []ssEntry
	keys     []S
	keysAlt  []S // second key buffer so Merge can rebuild without allocating
	heap     []heapSlot
	table    []int32 // open addressing, linear probing: entry index + 1, 0 = empty
	shift    uint    // 64 - log2(len(table))
	total    uint64
	nextSeq  uint64
	cands    []ssCand // Merge scratch
	order    []int32  // Top scratch

	// The optional admission filter (see admit): per hash bucket, an upper
	// bound on the weight of every untracked key in the bucket, never above
	// floor(). Allocated when the summary first fills.
	filtered bool
	filter   []uint64
	fshift   uint
}

type ssEntry struct {
	hash  uint64
	count uint64 // estimate: an upper bound on the key's true weight
	err   uint64 // count - err is a lower bound on the true weight
	seq   uint64 // admission order, the last tie-breaker
}

type heapSlot struct {
	count uint64 // the entry's count when placed here: a lower bound
	idx   int32
}

type ssCand struct {
	count, err, hash, seq uint64
	src                   uint8 // 0 receiver, 1 other
	idx                   int32
}

const minTableSize = 16

func (s *summary[S]) init(capacity int) {
	s.capacity = capacity
	size := min(minTableSize, tableSizeFor(capacity))
	s.table = make([]int32, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
}

// tableSizeFor keeps the load factor at or below one half.
func tableSizeFor(n int) int {
	size := minTableSize
	for size < 2*n {
		size <<= 1
	}
	return size
}

// slot spreads the caller's hash with a Fibonacci multiply so that weak
// hashes (identity on integers) still probe well.
func (s *summary[S]) slot(h uint64) int {
	return int((h * 0x9e3779b97f4a7c15) >> s.shift)
}

func (s *summary[S]) mask() int { return len(s.table) - 1 }

func (s *summary[S]) full() bool { return len(s.entries) >= s.capacity }

// floor is the weight any untracked key may have had: the minimum counter
// once full, 0 before (an untracked key was then never seen).
func (s *summary[S]) floor() uint64 {
	if !s.full() || len(s.heap) == 0 {
		return 0
	}
	s.refreshRoot()
	return s.heap[0].count
}

// refreshRoot makes the root's snapshot current; the root is then the true
// minimum counter.
func (s *summary[S]) refreshRoot() {
	for {
		r := &s.heap[0]
		c := s.entries[r.idx].count
		if r.count == c {
			return
		}
		r.count = c
		s.siftDown(0)
	}
}

func addSat(a, b uint64) uint64 {
	c, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return c
}

// bump adds w to tracked entry i.
func (s *summary[S]) bump(i int32, w uint64) {
	s.total = addSat(s.total, w)
	e := &s.entries[i]
	e.count = addSat(e.count, w)
}

// admit makes room for an untracked key with hash h and weight w and returns
// its entry index; isNew reports that the index is one past the previous
// last entry (the caller appends the key) rather than a recycled one (the
// caller overwrites keys[i]). Recycling evicts the minimum counter: the new
// key inherits its count as error, which is the Space-Saving rule.
//
// With the admission filter, a full summary first adds w to the key's
// filter bucket, and admits the key only when the bucket would rise above
// the minimum counter; the new key then inherits the bucket, not the
// minimum, as error, and the evicted key's count goes to its own bucket.
// i is -1 when the filter absorbed the update. This is Filtered
// Space-Saving (Homem and Carvalho, 2010) with the bucket capped at the
// minimum, which keeps Space-Saving's guarantees exactly: a bucket bounds
// every untracked key in it and never exceeds the minimum, so errors stay
// at most the minimum and counters still sum to at most the total. What it
// buys is fewer evictions when a flood of one-off keys (spoofed sources,
// random ports) would otherwise replace a counter on every update.
func (s *summary[S]) admit(h, w uint64) (i int32, isNew bool) {
	s.total = addSat(s.total, w)
	var base uint64
	var fb *uint64
	if s.filtered {
		if s.filter == nil && s.full() {
			s.initFilter()
		}
		if s.filter != nil {
			fb = &s.filter[s.fslot(h)]
			base = *fb
			if s.full() {
				if nb := addSat(base, w); nb <= s.floor() {
					*fb = nb
					return -1, false
				}
			}
		}
	}
	if !s.full() {
		if 2*(len(s.entries)+1) > len(s.table) {
			s.grow()
		}
		i = int32(len(s.entries))
		s.entries = append(s.entries, ssEntry{hash: h, count: addSat(base, w), err: base, seq: s.nextSeq})
		s.nextSeq++
		s.heap = append(s.heap, heapSlot{count: s.entries[i].count, idx: i})
		s.insertSlot(i)
		s.siftUp(len(s.heap) - 1)
		return i, true
	}
	s.refreshRoot()
	i = s.heap[0].idx
	s.deleteSlot(i)
	e := &s.entries[i]
	floor := e.count
	if fb != nil {
		if eb := &s.filter[s.fslot(e.hash)]; *eb < floor {
			*eb = floor
		}
		floor = base
	}
	*e = ssEntry{hash: h, count: addSat(floor, w), err: floor, seq: s.nextSeq}
	s.nextSeq++
	s.insertSlot(i)
	s.heap[0].count = e.count
	s.siftDown(0)
	return i, false
}

// maxFilterSize caps the filter at 2 MiB for very large capacities; a
// smaller filter only admits more often.
const maxFilterSize = 1 << 18

// initFilter allocates four buckets per counter, which cut evictions in a
// flood of distinct keys about fourfold in simulation; more buckets cost
// memory for little further gain.
func (s *summary[S]) initFilter() {
	size := minTableSize
	for size < 4*s.capacity && size < maxFilterSize {
		size <<= 1
	}
	s.filter = make([]uint64, size)
	s.fshift = uint(64 - bits.TrailingZeros(uint(size)))
}

// enableFilter turns the filter on. On a summary that has already evicted,
// an untracked key may weigh up to the minimum counter, so the buckets start
// there; before that every key seen is tracked and they start at zero when
// the summary fills.
func (s *summary[S]) enableFilter() {
	if s.filtered {
		return
	}
	s.filtered = true
	if s.full() {
		s.initFilter()
		f := s.floor()
		for j := range s.filter {
			s.filter[j] = f
		}
	}
}

// mergeFilter prepares the receiver's filter for a merge with o, given the
// floors ft and fo taken before it: a key untracked on both sides weighs at
// most its bucket (or the floor, for a side without a filter) on each, so
// the merged bucket is their sum. Keys that the merge drops are added by
// mergeSummaries. Both sums stay at most the merged minimum, since every
// merged counter includes at least ft + fo.
//
// It must run before mergeSummaries with the candidates in s.cands: a merge
// that drops candidates needs the filter even when neither side had one
// yet, since a dropped key is untracked with a weight above zero.
func (s *summary[S]) mergeFilter(o *summary[S], ft, fo uint64) {
	if !s.filtered {
		return
	}
	if s.filter == nil && ft == 0 && fo == 0 && o.filter == nil && len(s.cands) <= s.capacity {
		return
	}
	if s.filter == nil {
		s.initFilter()
		for j := range s.filter {
			s.filter[j] = ft
		}
	}
	switch {
	case o.filter != nil && len(o.filter) == len(s.filter):
		for j := range s.filter {
			s.filter[j] = addSat(s.filter[j], o.filter[j]) // also right when o == s
		}
	default:
		add := fo
		if o.filter != nil {
			add = slices.Max(o.filter)
		}
		for j := range s.filter {
			s.filter[j] = addSat(s.filter[j], add)
		}
	}
}

// fslot is the filter bucket of hash h, from a different multiplier than
// slot so that table clusters and filter buckets are unrelated.
func (s *summary[S]) fslot(h uint64) int { return int((h * 0xc2b2ae3d27d4eb4f) >> s.fshift) }

func (s *summary[S]) grow() {
	size := 2 * len(s.table)
	if cap(s.table) >= size {
		s.table = s.table[:size]
		clear(s.table)
	} else {
		s.table = make([]int32, size)
	}
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for i := range s.entries {
		s.insertSlot(int32(i))
	}
}

// insertSlot places entry i at the first free slot of its probe sequence;
// the key is known to be absent.
func (s *summary[S]) insertSlot(i int32) {
	m := s.mask()
	for p := s.slot(s.entries[i].hash); ; p = (p + 1) & m {
		if s.table[p] == 0 {
			s.table[p] = i + 1
			return
		}
	}
}

// deleteSlot removes entry i from the table with backward-shift deletion, so
// the table never holds tombstones and probe lengths do not degrade under
// the constant churn of a full sketch.
func (s *summary[S]) deleteSlot(i int32) {
	m := s.mask()
	p := s.slot(s.entries[i].hash)
	for s.table[p] != i+1 {
		p = (p + 1) & m
	}
	hole := p
	for q := (hole + 1) & m; s.table[q] != 0; q = (q + 1) & m {
		home := s.slot(s.entries[s.table[q]-1].hash)
		// The entry at q may move into the hole only if its home is not in
		// the cyclic interval (hole, q].
		if (q-home)&m >= (q-hole)&m {
			s.table[hole] = s.table[q]
			hole = q
		}
	}
	s.table[hole] = 0
}

// siftUp and siftDown move a hole instead of swapping: the moving slot is
// written once, where it stops. The comparisons, and so the resulting heap,
// are those of the swapping form (which the eviction order depends on).
func (s *summary[S]) siftUp(j int) {
	h := s.heap
	x := h[j]
	for j > 0 {
		p := (j - 1) / 2
		if !(x.count < h[p].count) {
			break
		}
		h[j] = h[p]
		j = p
	}
	h[j] = x
}

func (s *summary[S]) siftDown(j int) {
	h := s.heap
	n := len(h)
	x := h[j]
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].count < h[l].count {
			c = r
		}
		if !(h[c].count < x.count) {
			break
		}
		h[j] = h[c]
		j = c
	}
	h[j] = x
}

// reset empties the summary and keeps every buffer.
func (s *summary[S]) reset() {
	clear(s.filter)
	s.entries = s.entries[:0]
	s.heap = s.heap[:0]
	clear(s.table)
	s.total = 0
	s.nextSeq = 0
}

// before is the Top order: estimate descending, then hash ascending, then
// admission order. It is total, so any n-prefix is well defined.
func (s *summary[S]) before(a, b int32) bool {
	ea, eb := &s.entries[a], &s.entries[b]
	if ea.count != eb.count {
		return ea.count > eb.count
	}
	if ea.hash != eb.hash {
		return ea.hash < eb.hash
	}
	return ea.seq < eb.seq
}

// topOrder returns the first n entry indices in Top order (all when n <= 0).
// A short list is selected by insertion into a sorted n-buffer, which for
// the usual top-10 is a single pass that rarely inserts; longer lists sort.
func (s *summary[S]) topOrder(n int) []int32 {
	s.order = s.order[:0]
	if n > 0 && n <= 64 && n < len(s.entries) {
		for i := range s.entries {
			j := int32(i)
			k := len(s.order)
			if k == n {
				if !s.before(j, s.order[n-1]) {
					continue
				}
				k--
			} else {
				s.order = append(s.order, 0)
			}
			for k > 0 && s.before(j, s.order[k-1]) {
				s.order[k] = s.order[k-1]
				k--
			}
			s.order[k] = j
		}
		return s.order
	}
	for i := range s.entries {
		s.order = append(s.order, int32(i))
	}
	slices.SortFunc(s.order, func(a, b int32) int {
		if s.before(a, b) {
			return -1
		}
		if s.before(b, a) {
			return 1
		}
		return 0
	})
	if n > 0 && n < len(s.order) {
		s.order = s.order[:n]
	}
	return s.order
}

// mergeCands combines this summary's entries with other's, as prepared by the
// wrapper in s.cands, keeps the capacity largest and rebuilds the table and
// heap. copyKey moves a key into a (possibly reused) slot of the new key
// buffer.
//
// The rule (from "Mergeable Summaries", Agarwal et al.): a key's merged count
// is its count on each side, or that side's floor where it is untracked; its
// error likewise adds. Since an untracked key's true weight on a side is at
// most that side's floor, merged counts stay upper bounds, the kept counters
// still sum to at most the merged total, and the bound total/capacity holds
// for the result (for unequal capacities it is the sum of both sides'
// total/capacity).
func mergeSummaries[S any](s, o *summary[S], copyKey func(dst, src S) S) {
	c := s.cands
	slices.SortFunc(c, func(a, b ssCand) int {
		if x := cmp.Compare(b.count, a.count); x != 0 {
			return x
		}
		if x := cmp.Compare(a.hash, b.hash); x != 0 {
			return x
		}
		if x := cmp.Compare(a.src, b.src); x != 0 {
			return x
		}
		return cmp.Compare(a.seq, b.seq)
	})
	if len(c) > s.capacity {
		if s.filter != nil {
			// A dropped key weighs at most its merged count.
			for _, x := range c[s.capacity:] {
				if b := &s.filter[s.fslot(x.hash)]; *b < x.count {
					*b = x.count
				}
			}
		}
		c = c[:s.capacity]
	}
	alt := s.keysAlt[:0]
	for _, x := range c {
		src := s.keys
		if x.src == 1 {
			src = o.keys
		}
		var dst S
		if len(alt) < cap(alt) {
			dst = alt[:len(alt)+1][len(alt)]
		}
		alt = append(alt, copyKey(dst, src[x.idx]))
	}
	total := addSat(s.total, o.total)
	// Keep stale buffers past len for reuse but drop references held by the
	// old key slice beyond what copyKey reuses.
	s.keysAlt, s.keys = s.keys, alt
	s.entries = s.entries[:0]
	s.heap = s.heap[:0]
	for j, x := range c {
		s.entries = append(s.entries, ssEntry{hash: x.hash, count: x.count, err: x.err, seq: uint64(j)})
		s.heap = append(s.heap, heapSlot{count: x.count, idx: int32(j)})
	}
	s.nextSeq = uint64(len(c))
	s.total = total
	if want := tableSizeFor(len(c)); want > len(s.table) {
		s.table = make([]int32, want)
		s.shift = uint(64 - bits.TrailingZeros(uint(want)))
	} else {
		clear(s.table)
	}
	for j := range s.entries {
		s.insertSlot(int32(j))
	}
	for j := len(s.heap)/2 - 1; j >= 0; j-- {
		s.siftDown(j)
	}
	s.cands = c[:0]
}
