// Package mock is pktvisor's mock input: it accepts any config key, emits a
// random integer once per second to attached consumers, and fails to start
// with "mock error on start" when except_on_start is set. It exists for
// tests and demos of the input plumbing. (The mock *packet* source that
// generates DNS traffic for pcap_source: mock lives with the agent.)
package mock

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/handler"
)

// ErrStart is returned by Run when except_on_start is set.
var ErrStart = errors.New("mock error on start")

// Consumer receives the mock events.
type Consumer interface {
	MockEvent(v uint64, ts time.Time)
}

// Options are injectable for tests.
type Options struct {
	// Every is the event period; 0 means one second.
	Every time.Duration
	// Seed makes the sequence reproducible.
	Seed uint64
}

// Input is the mock input.
type Input struct {
	failStart bool
	every     time.Duration
	rng       *rand.Rand

	handlers handler.Set
	sent     atomic.Uint64
}

// New accepts any keys; only except_on_start is read.
func New(cfg handler.Config, opts Options) (*Input, error) {
	fail := cfg.Has("except_on_start")
	if fail {
		// pktvisor tests only the key's presence; a false value still fails
		// there, but an explicit false reads better as "do not fail".
		if b, err := cfg.Bool("except_on_start", true); err == nil {
			fail = b
		}
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	in := &Input{failStart: fail, every: opts.Every, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}
	return in, nil
}

// Attach adds a handler; it receives events if it is a Consumer.
func (in *Input) Attach(h handler.Handler) {
	in.handlers.Attach(h)
}

// Detach removes a handler.
func (in *Input) Detach(h handler.Handler) {
	in.handlers.Detach(h)
}

// Sent is the number of events emitted.
func (in *Input) Sent() uint64 { return in.sent.Load() }

// Run emits until ctx ends (returning ctx.Err()), or fails at once with
// ErrStart.
func (in *Input) Run(ctx context.Context) error {
	if in.failStart {
		return ErrStart
	}
	t := time.NewTicker(in.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			v := in.rng.Uint64()
			for _, h := range in.handlers.Load() {
				if c, ok := h.(Consumer); ok {
					c.MockEvent(v, now)
				}
			}
			in.sent.Add(1)
		}
	}
}
