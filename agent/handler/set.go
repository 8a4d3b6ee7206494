package handler

import (
	"sync"
	"sync/atomic"
)

// Set is the list of handlers an input feeds. Reading it on the per-event
// path is one atomic load; Attach and Detach (policy changes, rare) copy
// the list under a lock, so a reader never sees it change under it. The
// zero value is an empty set.
type Set struct {
	mu   sync.Mutex
	list atomic.Pointer[[]Handler]
}

// Load returns the current handlers; the slice must not be modified.
func (s *Set) Load() []Handler {
	if p := s.list.Load(); p != nil {
		return *p
	}
	return nil
}

// Attach adds h.
func (s *Set) Attach(h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := append(append([]Handler(nil), s.Load()...), h)
	s.list.Store(&next)
}

// Detach removes h.
func (s *Set) Detach(h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.Load()
	next := make([]Handler, 0, len(cur))
	for _, x := range cur {
		if x != h {
			next = append(next, x)
		}
	}
	s.list.Store(&next)
}
