package dnshandler

import (
	"net/netip"
	"time"
)

// xactKey identifies a DNS transaction: the flow (a direction-independent
// 5-tuple hash, or for dnstap a hash of the addresses in the message) and
// the DNS message ID.
type xactKey struct {
	flow uint64
	id   uint16
}

// xactEntry is what a query leaves for its reply.
type xactEntry struct {
	start    int64 // unix nanoseconds
	size     uint32
	cd       bool
	filtered bool
	ecs      netip.Addr
}

type xactResult uint8

const (
	xactNotFound xactResult = iota
	xactValid
	xactTimedOut
)

// xactTable holds open queries. It is bounded: when full, an arbitrary open
// query is evicted to make room (new queries are the ones likely to be
// answered; a flood of unanswered queries must not stop matching). Go maps
// reuse their memory after deletes, so a table in steady state inserts and
// removes without allocating.
type xactTable struct {
	m       map[xactKey]xactEntry
	max     int
	ttl     int64 // nanoseconds
	evicted uint64
}

func newXactTable(max int, ttl time.Duration) *xactTable {
	return &xactTable{m: make(map[xactKey]xactEntry, min(max, 1024)), max: max, ttl: int64(ttl)}
}

// start opens a transaction; it reports whether another one was evicted.
// A retransmitted query (same key) restarts the transaction, as pktvisor's
// map assignment does.
func (t *xactTable) start(k xactKey, e xactEntry) (evicted bool) {
	if _, ok := t.m[k]; !ok && len(t.m) >= t.max {
		for old := range t.m {
			delete(t.m, old)
			break
		}
		t.evicted++
		evicted = true
	}
	t.m[k] = e
	return evicted
}

// end closes the transaction of a reply at ts (unix nanoseconds).
func (t *xactTable) end(k xactKey, ts int64) (xactEntry, xactResult) {
	e, ok := t.m[k]
	if !ok {
		return e, xactNotFound
	}
	delete(t.m, k)
	if ts-e.start > t.ttl {
		return e, xactTimedOut
	}
	return e, xactValid
}

// purge drops transactions older than the TTL at ts and returns how many.
func (t *xactTable) purge(ts int64) int {
	n := 0
	for k, e := range t.m {
		if ts-e.start > t.ttl {
			delete(t.m, k)
			n++
		}
	}
	return n
}

func (t *xactTable) open() int { return len(t.m) }
