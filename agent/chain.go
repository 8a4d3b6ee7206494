package agent

import (
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
)

// chain is how a sequence policy attaches to its input: one consumer that
// hands each packet to its stages in order and stops at the first stage
// that filtered it out. Heartbeats, bounds and capture stats reach every
// stage. It is never listed as a module; its stages are.
type chain struct {
	name   string
	stages []handler.Handler
}

var (
	_ handler.Handler              = (*chain)(nil)
	_ handler.PacketConsumer       = (*chain)(nil)
	_ handler.Ticker               = (*chain)(nil)
	_ handler.Bounded              = (*chain)(nil)
	_ handler.CaptureStatsConsumer = (*chain)(nil)
	_ handler.TCPErrorConsumer     = (*chain)(nil)
)

func (c *chain) HandlePacket(p *decode.Packet) {
	for _, h := range c.stages {
		pc, ok := h.(handler.PacketConsumer)
		if ok {
			pc.HandlePacket(p)
		}
		if ps, ok := h.(handler.Passer); ok && !ps.Pass(p) {
			return
		}
	}
}

func (c *chain) Tick(ts time.Time) {
	for _, h := range c.stages {
		if t, ok := h.(handler.Ticker); ok {
			t.Tick(ts)
		}
	}
}

func (c *chain) StartAt(ts time.Time) {
	for _, h := range c.stages {
		if b, ok := h.(handler.Bounded); ok {
			b.StartAt(ts)
		}
	}
}

func (c *chain) EndAt(ts time.Time) {
	for _, h := range c.stages {
		if b, ok := h.(handler.Bounded); ok {
			b.EndAt(ts)
		}
	}
}

func (c *chain) CaptureStats(s capture.Stats, ts time.Time) {
	for _, h := range c.stages {
		if cs, ok := h.(handler.CaptureStatsConsumer); ok {
			cs.CaptureStats(s, ts)
		}
	}
}

func (c *chain) TCPReassemblyError(ts time.Time) {
	for _, h := range c.stages {
		if te, ok := h.(handler.TCPErrorConsumer); ok {
			te.TCPReassemblyError(ts)
		}
	}
}

// The Handler methods exist so the chain can be attached to an input;
// metrics are read from the stages, never from the chain.
func (c *chain) Name() string    { return c.name }
func (c *chain) Type() string    { return "chain" }
func (c *chain) Version() string { return "1.0" }
func (c *chain) Schema() string  { return "chain" }
func (c *chain) Periods() int    { return 1 }
func (c *chain) Emits() bool     { return false }
func (c *chain) WriteBucket(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
func (c *chain) WriteWindow(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
