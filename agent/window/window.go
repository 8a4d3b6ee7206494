// Package window keeps a handler's metrics in 60-second buckets and merges
// them into windows, following pktvisor's event-time rotation: bucket 0 is
// live, 1..N-1 are closed, and a new bucket starts at the timestamp of the
// first event at least a period after the previous start.
package window

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Period is the length of one bucket.
const Period = 60 * time.Second

// MaxPeriods bounds num_periods, as pktvisor clamps it.
const MaxPeriods = 10

// Bucket is the per-period metric state of one handler. B is the concrete
// pointer type, so handlers get their own type back without assertions.
type Bucket[B any] interface {
	// Merge adds other into the receiver (counters add, sketches merge).
	Merge(other B)
	// Reset empties the bucket, keeping its memory for reuse.
	Reset()
	// Tick advances per-second rate samplers to ts (heartbeats, idle time).
	Tick(ts time.Time)
	// Close stops the bucket being live: rates fold their partial second.
	Close(ts time.Time)
}

// Span describes the time a bucket or window covers.
type Span struct {
	Start  time.Time
	Length time.Duration
	// Live is true for the live bucket (and windows containing it) of a
	// live stream: only then do rates report "live".
	Live bool
}

// ErrPeriod is wrapped by every error about a requested period, so the HTTP
// layer can answer 425 the way pktvisor does.
var ErrPeriod = errors.New("invalid period")

type periodError struct{ msg string }

func (e *periodError) Error() string { return e.msg }
func (e *periodError) Unwrap() error { return ErrPeriod }

type slot[B any] struct {
	b      B
	start  time.Time
	end    time.Time
	closed bool
}

// Manager holds the buckets of one handler. Event processing calls Lock,
// Live, and Unlock; readers use WriteBucket and Window.
type Manager[B Bucket[B]] struct {
	mu        sync.Mutex
	newBucket func() B
	periods   int
	recorded  bool
	now       func() time.Time
	slots     []*slot[B] // [0] is live
	nextShift int64      // unix seconds
	onShift   func(closed, live B, ts time.Time)
	started   bool

	cacheAt  time.Time
	cacheP   int
	cacheB   B
	cacheSp  Span
	cacheGen uint64
	gen      uint64
}

// Options configure a Manager.
type Options struct {
	// Periods is num_periods, clamped to 1..MaxPeriods.
	Periods int
	// Recorded marks a stream read from a file: lengths come from packet
	// timestamps and rates never report live values.
	Recorded bool
	// Now is the wall clock (tests inject one); defaults to time.Now.
	Now func() time.Time
}

// ClampPeriods applies pktvisor's 1..10 clamp (0 means the default 5).
func ClampPeriods(p int) int {
	switch {
	case p == 0:
		return 5
	case p < 1:
		return 1
	case p > MaxPeriods:
		return MaxPeriods
	}
	return p
}

// New creates a manager whose first bucket starts now (wall clock); file
// inputs move it to the first packet with SetStart.
func New[B Bucket[B]](newBucket func() B, opts Options) *Manager[B] {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &Manager[B]{
		newBucket: newBucket,
		periods:   ClampPeriods(opts.Periods),
		recorded:  opts.Recorded,
		now:       now,
	}
	start := now()
	m.slots = append(m.slots, &slot[B]{b: newBucket(), start: start})
	m.nextShift = start.Unix() + int64(Period/time.Second)
	return m
}

// OnShift registers a hook run (under the lock) after each rotation with the
// bucket just closed and the new live one (DNS purges transactions there).
func (m *Manager[B]) OnShift(fn func(closed, live B, ts time.Time)) { m.onShift = fn }

// Periods returns the configured number of buckets.
func (m *Manager[B]) Periods() int { return m.periods }

// Recorded reports whether the stream comes from a file.
func (m *Manager[B]) Recorded() bool { return m.recorded }

// Lock and Unlock bracket event processing.
func (m *Manager[B]) Lock()   { m.mu.Lock() }
func (m *Manager[B]) Unlock() { m.mu.Unlock() }

// SetStart moves the first bucket's start to ts (the first packet of a file).
// Must be called with the lock held, before any event.
func (m *Manager[B]) SetStart(ts time.Time) {
	if m.started || len(m.slots) != 1 {
		return
	}
	m.started = true
	m.slots[0].start = ts
	m.nextShift = ts.Unix() + int64(Period/time.Second)
}

// Live rotates if ts has reached the next shift and returns the live bucket.
// Must be called with the lock held.
func (m *Manager[B]) Live(ts time.Time) B { return m.LiveUnix(ts, ts.Unix()) }

// LiveUnix is Live with sec == ts.Unix() already computed by a per-packet
// path that needs it for its rates too.
func (m *Manager[B]) LiveUnix(ts time.Time, sec int64) B {
	m.started = true
	if m.periods > 1 && sec >= m.nextShift {
		m.shift(ts)
	}
	m.gen++
	return m.slots[0].b
}

// Tick advances the live bucket's clocks without an event (heartbeat).
// Must be called with the lock held.
func (m *Manager[B]) Tick(ts time.Time) {
	b := m.Live(ts)
	b.Tick(ts)
}

func (m *Manager[B]) shift(ts time.Time) {
	old := m.slots[0]
	old.b.Close(ts)
	old.end = ts
	old.closed = true

	var fresh *slot[B]
	if len(m.slots) >= m.periods {
		// Reuse the oldest bucket's memory instead of allocating.
		fresh = m.slots[len(m.slots)-1]
		m.slots = m.slots[:len(m.slots)-1]
		fresh.b.Reset()
		fresh.closed = false
		fresh.end = time.Time{}
	} else {
		fresh = &slot[B]{b: m.newBucket()}
	}
	fresh.start = ts
	m.slots = append(m.slots, nil)
	copy(m.slots[1:], m.slots[:len(m.slots)-1])
	m.slots[0] = fresh
	m.nextShift = ts.Unix() + int64(Period/time.Second)
	if m.onShift != nil {
		m.onShift(old.b, fresh.b, ts)
	}
}

// End closes the live bucket at ts (end of a recorded stream).
func (m *Manager[B]) End(ts time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.slots[0]
	if s.closed {
		return
	}
	s.b.Close(ts)
	s.end = ts
	s.closed = true
	m.gen++
}

func (m *Manager[B]) span(s *slot[B]) Span {
	switch {
	case s.closed:
		return Span{Start: s.start, Length: seconds(s.end.Unix() - s.start.Unix())}
	case m.recorded:
		return Span{Start: s.start}
	default:
		return Span{Start: s.start, Length: seconds(m.now().Unix() - s.start.Unix()), Live: true}
	}
}

func seconds(n int64) time.Duration {
	if n < 0 {
		n = 0
	}
	return time.Duration(n) * time.Second
}

// Accumulated returns how many buckets exist so far.
func (m *Manager[B]) Accumulated() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.slots)
}

// WriteBucket calls fn with bucket p (0 = live) under the lock, so fn sees a
// consistent bucket; fn must not keep b.
func (m *Manager[B]) WriteBucket(p int, fn func(b B, sp Span)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p < 0 || p >= m.periods {
		return &periodError{fmt.Sprintf("invalid metrics period, specify [0, %d]", m.periods-1)}
	}
	if p >= len(m.slots) {
		return &periodError{fmt.Sprintf("requested metrics period has not yet accumulated, current range is [0, %d]", len(m.slots)-1)}
	}
	s := m.slots[p]
	fn(s.b, m.span(s))
	return nil
}

// Window merges the newest min(p, accumulated) buckets into a fresh bucket.
// Results are cached for a second, as pktvisor does, unless events arrived
// (the cache is keyed on an event generation as well).
func (m *Manager[B]) Window(p int) (B, Span, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var zero B
	if p < 2 || p > m.periods {
		return zero, Span{}, &periodError{fmt.Sprintf("invalid metrics period, specify [2, %d]", m.periods)}
	}
	now := m.now()
	if m.cacheP == p && m.cacheGen == m.gen && now.Sub(m.cacheAt) < time.Second {
		return m.cacheB, m.cacheSp, nil
	}
	n := min(p, len(m.slots))
	out := m.newBucket()
	var sp Span
	var sum time.Duration
	for i := 0; i < n; i++ {
		s := m.slots[i]
		out.Merge(s.b)
		ssp := m.span(s)
		sum += ssp.Length
		if ssp.Live {
			sp.Live = true
		}
	}
	oldest := m.slots[n-1].start
	sp.Start = oldest
	if m.recorded || !sp.Live {
		sp.Length = sum
	} else {
		sp.Length = seconds(now.Unix() - oldest.Unix())
	}
	m.cacheAt, m.cacheP, m.cacheB, m.cacheSp, m.cacheGen = now, p, out, sp, m.gen
	return out, sp, nil
}

// WriteBucketTo runs write on bucket p under the lock and returns its span:
// the body of every handler's WriteBucket.
func (m *Manager[B]) WriteBucketTo(p int, write func(b B, sp Span)) (Span, error) {
	var span Span
	err := m.WriteBucket(p, func(b B, sp Span) {
		span = sp
		write(b, sp)
	})
	return span, err
}

// WriteWindowTo merges the newest p buckets and runs write on the result:
// the body of every handler's WriteWindow.
func (m *Manager[B]) WriteWindowTo(p int, write func(b B, sp Span)) (Span, error) {
	b, sp, err := m.Window(p)
	if err != nil {
		return sp, err
	}
	write(b, sp)
	return sp, nil
}
