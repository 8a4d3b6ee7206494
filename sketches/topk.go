package sketches

import (
	"bytes"
	"fmt"
)

// MaxTopKCapacity bounds the number of counters a TopK may hold.
const MaxTopKCapacity = 1 << 26

// Item is one heavy hitter: a key and its estimated weight, an upper bound on
// its true weight that overestimates by at most Total()/capacity.
type Item[K comparable] struct {
	Key      K
	Estimate uint64
}

// TopK finds heavy hitters with weighted updates using Space-Saving (see
// summary for why). Memory is bounded by capacity whatever the number of
// distinct keys; with total weight N, every key whose true weight exceeds
// N/capacity is tracked and every estimate is within [true, true +
// N/capacity]. Results are deterministic for a given sequence of operations.
type TopK[K comparable] struct {
	s    summary[K]
	hash func(K) uint64
}

// NewTopK returns an empty TopK holding at most capacity keys. hash must be
// deterministic; use the same function for sketches that will be merged
// (e.g. HashString, HashUint64, HashAddr).
func NewTopK[K comparable](capacity int, hash func(K) uint64) (*TopK[K], error) {
	if capacity < 1 || capacity > MaxTopKCapacity {
		return nil, fmt.Errorf("topk: capacity %d not in [1, %d]", capacity, MaxTopKCapacity)
	}
	if hash == nil {
		return nil, fmt.Errorf("topk: nil hash function")
	}
	t := &TopK[K]{hash: hash}
	t.s.init(capacity)
	return t, nil
}

// find returns the entry index of k, or -1.
func (t *TopK[K]) find(k K, h uint64) int32 {
	s := &t.s
	m := s.mask()
	for p := s.slot(h); ; p = (p + 1) & m {
		e := s.table[p]
		if e == 0 {
			return -1
		}
		if s.entries[e-1].hash == h && s.keys[e-1] == k {
			return e - 1
		}
	}
}

// Add counts one occurrence of k.
func (t *TopK[K]) Add(k K) { t.AddWithCount(k, 1) }

// AddWithCount adds weight w to k. A zero weight is ignored.
func (t *TopK[K]) AddWithCount(k K, w uint64) {
	if w == 0 {
		return
	}
	t.AddHashed(t.hash(k), k, w)
}

// AddHashed is AddWithCount for a caller that already holds h, the
// sketch's hash of k (e.g. to feed an HLL with the same hash). A wrong h
// silently splits k's counts, so pass only the sketch's own hash function's
// result.
func (t *TopK[K]) AddHashed(h uint64, k K, w uint64) {
	if w == 0 {
		return
	}
	if i := t.find(k, h); i >= 0 {
		t.s.bump(i, w)
		return
	}
	i, isNew := t.s.admit(h, w)
	if i < 0 {
		return // absorbed by the admission filter
	}
	if isNew {
		t.s.keys = append(t.s.keys, k)
	} else {
		t.s.keys[i] = k
	}
}

// WithAdmissionFilter turns on the admission filter (see summary.admit for
// the rule and why it keeps the guarantees) and returns t: in a stream of
// many one-off keys it replaces most evictions with an add to an array, at
// 32 bytes of memory per counter once the sketch is full. Results differ
// from plain Space-Saving's but satisfy the same bounds. Turn it on before
// the first update.
func (t *TopK[K]) WithAdmissionFilter() *TopK[K] {
	t.s.enableFilter()
	return t
}

// Merge adds o's heavy hitters into t (see mergeSummaries for the rule). t
// keeps its own capacity. o is not modified; merging a sketch into itself
// doubles it.
func (t *TopK[K]) Merge(o *TopK[K]) {
	if o == nil || len(o.s.entries) == 0 {
		if o != nil {
			t.s.total = addSat(t.s.total, o.s.total)
		}
		return
	}
	ft, fo := t.s.floor(), o.s.floor()
	c := t.s.cands[:0]
	for i := range t.s.entries {
		e := &t.s.entries[i]
		x := ssCand{count: e.count, err: e.err, hash: e.hash, seq: e.seq, idx: int32(i)}
		if j := o.find(t.s.keys[i], o.hash(t.s.keys[i])); j >= 0 {
			x.count = addSat(x.count, o.s.entries[j].count)
			x.err = addSat(x.err, o.s.entries[j].err)
		} else {
			x.count = addSat(x.count, fo)
			x.err = addSat(x.err, fo)
		}
		c = append(c, x)
	}
	for j := range o.s.entries {
		k := o.s.keys[j]
		h := t.hash(k)
		if t.find(k, h) >= 0 {
			continue
		}
		e := &o.s.entries[j]
		c = append(c, ssCand{count: addSat(e.count, ft), err: addSat(e.err, ft), hash: h, seq: e.seq, src: 1, idx: int32(j)})
	}
	t.s.cands = c
	t.s.mergeFilter(&o.s, ft, fo)
	mergeSummaries(&t.s, &o.s, func(_, src K) K { return src })
	// Drop references to keys no longer tracked.
	clear(t.s.keysAlt[:cap(t.s.keysAlt)])
}

// Top appends up to n items (all when n <= 0) to dst, by estimate
// descending; ties are broken by key hash, then by admission order.
func (t *TopK[K]) Top(n int, dst []Item[K]) []Item[K] {
	order := t.s.topOrder(n)
	for _, i := range order {
		dst = append(dst, Item[K]{Key: t.s.keys[i], Estimate: t.s.entries[i].count})
	}
	return dst
}

// Bounds returns k's estimate and a lower bound on its true weight; ok is
// false when k is not tracked (its true weight is then at most Floor()).
func (t *TopK[K]) Bounds(k K) (estimate, lower uint64, ok bool) {
	i := t.find(k, t.hash(k))
	if i < 0 {
		return 0, 0, false
	}
	e := &t.s.entries[i]
	return e.count, e.count - e.err, true
}

// Floor is the largest weight an untracked key can have had.
func (t *TopK[K]) Floor() uint64 { return t.s.floor() }

// Total is the sum of all weights added (saturating).
func (t *TopK[K]) Total() uint64 { return t.s.total }

// Len is the number of tracked keys.
func (t *TopK[K]) Len() int { return len(t.s.entries) }

// Capacity is the maximum number of tracked keys.
func (t *TopK[K]) Capacity() int { return t.s.capacity }

// Reset empties the sketch and keeps its memory.
func (t *TopK[K]) Reset() {
	clear(t.s.keys)
	t.s.keys = t.s.keys[:0]
	t.s.reset()
}

// StringTopK is TopK for string keys fed from packet bytes: AddBytes looks a
// key up without converting it to a string, and each counter owns a byte
// buffer that is reused when the counter is recycled, so once the buffers
// have grown to the usual key length no Add allocates at all, tracked key or
// not. Keys are hashed with HashBytes.
type StringTopK struct {
	s summary[[]byte]
}

// NewStringTopK returns an empty StringTopK holding at most capacity keys.
func NewStringTopK(capacity int) (*StringTopK, error) {
	if capacity < 1 || capacity > MaxTopKCapacity {
		return nil, fmt.Errorf("string topk: capacity %d not in [1, %d]", capacity, MaxTopKCapacity)
	}
	t := &StringTopK{}
	t.s.init(capacity)
	return t, nil
}

func (t *StringTopK) find(b []byte, h uint64) int32 {
	s := &t.s
	m := s.mask()
	for p := s.slot(h); ; p = (p + 1) & m {
		e := s.table[p]
		if e == 0 {
			return -1
		}
		if s.entries[e-1].hash == h && bytes.Equal(s.keys[e-1], b) {
			return e - 1
		}
	}
}

// AddBytes adds weight w to the key b. b is copied when admitted, never
// retained. A zero weight is ignored.
func (t *StringTopK) AddBytes(b []byte, w uint64) {
	if w == 0 {
		return
	}
	t.AddBytesHashed(HashBytes(b), b, w)
}

// AddBytesHashed is AddBytes for a caller that already holds h ==
// HashBytes(b), so one key feeding several sketches is hashed once.
func (t *StringTopK) AddBytesHashed(h uint64, b []byte, w uint64) {
	if w == 0 {
		return
	}
	if i := t.find(b, h); i >= 0 {
		t.s.bump(i, w)
		return
	}
	i, isNew := t.s.admit(h, w)
	if i < 0 {
		return // absorbed by the admission filter
	}
	if !isNew {
		t.s.keys[i] = copyBytes(t.s.keys[i], b)
		return
	}
	n := len(t.s.keys)
	if n < cap(t.s.keys) {
		// Reuse a buffer left behind by Reset.
		t.s.keys = t.s.keys[:n+1]
		t.s.keys[n] = copyBytes(t.s.keys[n], b)
		return
	}
	t.s.keys = append(t.s.keys, copyBytes(nil, b))
}

// Add adds weight w to the key s.
func (t *StringTopK) Add(s string, w uint64) {
	t.AddBytes(unsafeBytes(s), w)
}

// WithAdmissionFilter is TopK.WithAdmissionFilter.
func (t *StringTopK) WithAdmissionFilter() *StringTopK {
	t.s.enableFilter()
	return t
}

// Merge adds o's heavy hitters into t, as TopK.Merge.
func (t *StringTopK) Merge(o *StringTopK) {
	if o == nil || len(o.s.entries) == 0 {
		if o != nil {
			t.s.total = addSat(t.s.total, o.s.total)
		}
		return
	}
	ft, fo := t.s.floor(), o.s.floor()
	c := t.s.cands[:0]
	for i := range t.s.entries {
		e := &t.s.entries[i]
		x := ssCand{count: e.count, err: e.err, hash: e.hash, seq: e.seq, idx: int32(i)}
		if j := o.find(t.s.keys[i], e.hash); j >= 0 {
			x.count = addSat(x.count, o.s.entries[j].count)
			x.err = addSat(x.err, o.s.entries[j].err)
		} else {
			x.count = addSat(x.count, fo)
			x.err = addSat(x.err, fo)
		}
		c = append(c, x)
	}
	for j := range o.s.entries {
		e := &o.s.entries[j]
		if t.find(o.s.keys[j], e.hash) >= 0 {
			continue
		}
		c = append(c, ssCand{count: addSat(e.count, ft), err: addSat(e.err, ft), hash: e.hash, seq: e.seq, src: 1, idx: int32(j)})
	}
	t.s.cands = c
	t.s.mergeFilter(&o.s, ft, fo)
	mergeSummaries(&t.s, &o.s, copyBytes)
}

// Top appends up to n items (all when n <= 0) to dst, ordered as TopK.Top.
func (t *StringTopK) Top(n int, dst []Item[string]) []Item[string] {
	order := t.s.topOrder(n)
	for _, i := range order {
		dst = append(dst, Item[string]{Key: string(t.s.keys[i]), Estimate: t.s.entries[i].count})
	}
	return dst
}

// Bounds returns the estimate and lower bound of key s, as TopK.Bounds.
func (t *StringTopK) Bounds(s string) (estimate, lower uint64, ok bool) {
	b := unsafeBytes(s)
	i := t.find(b, HashBytes(b))
	if i < 0 {
		return 0, 0, false
	}
	e := &t.s.entries[i]
	return e.count, e.count - e.err, true
}

// Floor is the largest weight an untracked key can have had.
func (t *StringTopK) Floor() uint64 { return t.s.floor() }

// Total is the sum of all weights added (saturating).
func (t *StringTopK) Total() uint64 { return t.s.total }

// Len is the number of tracked keys.
func (t *StringTopK) Len() int { return len(t.s.entries) }

// Capacity is the maximum number of tracked keys.
func (t *StringTopK) Capacity() int { return t.s.capacity }

// Reset empties the sketch and keeps its memory, key buffers included.
func (t *StringTopK) Reset() {
	t.s.keys = t.s.keys[:0]
	t.s.reset()
}

// copyBytes copies src into dst's memory when it fits, else into a new
// buffer with room to spare: key buffers are recycled for other keys, and
// rounding their size up lets most names fit whichever buffer they land in.
func copyBytes(dst, src []byte) []byte {
	if cap(dst) >= len(src) {
		return append(dst[:0], src...)
	}
	return append(make([]byte, 0, (len(src)+31)&^31), src...)
}
