// Package input turns a capture source into events for stream handlers:
// frames are filtered, decoded, given a direction and dispatched to every
// attached handler. The same code runs for files and live capture.
package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/filter"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/tcpreasm"
	"github.com/visorng/visor/decode"
)

// PacketOptions configure a PacketInput.
type PacketOptions struct {
	// Filter is a tcpdump expression evaluated in user space. Sources that
	// filter in the kernel leave it empty.
	Filter string
	// Hosts decides direction when the source gives no hint.
	Hosts HostSet
	// Recorded marks a file: the first and last timestamps bound the
	// handlers' buckets.
	Recorded bool
	// StatsEvery is how often (in event time) capture stats go to
	// consumers; 0 means every second.
	StatsEvery time.Duration
	// TCP bounds the reassembly of connections handlers read (see
	// handler.TCPConsumer); zero fields take tcpreasm's defaults.
	TCP tcpreasm.Config
}

// Counters are the input's own cumulative counters. Every frame is counted
// exactly once as delivered, filtered or a decode error.
type Counters struct {
	Frames       atomic.Uint64
	Delivered    atomic.Uint64
	Filtered     atomic.Uint64
	DecodeErrors atomic.Uint64
}

// PacketInput reads a Source and feeds handlers.
type PacketInput struct {
	src  capture.Source
	opts PacketOptions

	mu       sync.Mutex
	handlers atomic.Pointer[attached]

	filters map[decode.LinkType]*filter.Program

	Counters Counters

	first, last time.Time
	// nextStats is when (event time) capture stats are next due; comparing
	// against it is cheaper per packet than time.Time.Sub.
	nextStats time.Time

	tcp *tcpFeed // created at the first TCP packet a handler wants
}

// NewPacketInput validates the options. The filter is compiled for each
// link type as frames arrive, but an expression that cannot compile at all
// fails here.
func NewPacketInput(src capture.Source, opts PacketOptions) (*PacketInput, error) {
	in := &PacketInput{src: src, opts: opts, filters: map[decode.LinkType]*filter.Program{}}
	if opts.Filter != "" {
		p, err := filter.New(opts.Filter, decode.LinkEthernet)
		if err != nil {
			return nil, fmt.Errorf("bpf filter %q: %w", opts.Filter, err)
		}
		in.filters[decode.LinkEthernet] = p
	}
	if in.opts.StatsEvery == 0 {
		in.opts.StatsEvery = time.Second
	}
	in.handlers.Store(newAttached(nil))
	return in, nil
}

// attached is the handler set split by capability. It is rebuilt on every
// Attach and Detach so the per-packet path makes no interface assertions.
type attached struct {
	all     []handler.Handler
	packet  []handler.PacketConsumer
	tcp     []handler.TCPConsumer
	tcpErr  []handler.TCPErrorConsumer
	stats   []handler.CaptureStatsConsumer
	bounded []handler.Bounded
	tickers []handler.Ticker
}

func newAttached(hs []handler.Handler) *attached {
	a := &attached{all: hs}
	for _, h := range hs {
		if c, ok := h.(handler.PacketConsumer); ok {
			a.packet = append(a.packet, c)
		}
		if c, ok := h.(handler.TCPConsumer); ok {
			a.tcp = append(a.tcp, c)
		}
		if c, ok := h.(handler.TCPErrorConsumer); ok {
			a.tcpErr = append(a.tcpErr, c)
		}
		if c, ok := h.(handler.CaptureStatsConsumer); ok {
			a.stats = append(a.stats, c)
		}
		if c, ok := h.(handler.Bounded); ok {
			a.bounded = append(a.bounded, c)
		}
		if c, ok := h.(handler.Ticker); ok {
			a.tickers = append(a.tickers, c)
		}
	}
	return a
}

// Attach adds a handler; it receives the events it has interfaces for.
func (in *PacketInput) Attach(h handler.Handler) {
	in.mu.Lock()
	defer in.mu.Unlock()
	cur := in.handlers.Load().all
	in.handlers.Store(newAttached(append(append([]handler.Handler(nil), cur...), h)))
}

// Detach removes a handler.
func (in *PacketInput) Detach(h handler.Handler) {
	in.mu.Lock()
	defer in.mu.Unlock()
	cur := in.handlers.Load().all
	next := make([]handler.Handler, 0, len(cur))
	for _, x := range cur {
		if x != h {
			next = append(next, x)
		}
	}
	in.handlers.Store(newAttached(next))
}

func (in *PacketInput) filterFor(link decode.LinkType) (*filter.Program, error) {
	if in.opts.Filter == "" {
		return nil, nil
	}
	if p, ok := in.filters[link]; ok {
		return p, nil
	}
	p, err := filter.New(in.opts.Filter, link)
	if err != nil {
		return nil, fmt.Errorf("bpf filter %q for link type %d: %w", in.opts.Filter, link, err)
	}
	in.filters[link] = p
	return p, nil
}

// Run reads until the source ends (nil), ctx is cancelled (ctx.Err()), or
// the source fails (its error, after every good frame before it was
// handled). For recorded streams the handlers' buckets are bounded by the
// first and last packet.
func (in *PacketInput) Run(ctx context.Context) error {
	var (
		f   capture.Frame
		pkt decode.Packet
	)
	defer in.finish()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := in.src.Next(&f)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := in.handleFrame(&f, &pkt); err != nil {
			return err
		}
	}
}

func (in *PacketInput) handleFrame(f *capture.Frame, pkt *decode.Packet) error {
	in.Counters.Frames.Add(1)
	hs := in.handlers.Load()
	if in.first.IsZero() {
		in.first = f.Timestamp
		in.nextStats = f.Timestamp.Add(in.opts.StatsEvery)
		if in.opts.Recorded {
			for _, b := range hs.bounded {
				b.StartAt(f.Timestamp)
			}
		}
	} else if !f.Timestamp.Before(in.nextStats) {
		in.nextStats = f.Timestamp.Add(in.opts.StatsEvery)
		in.sendStats(hs, f.Timestamp)
		// Event time is the clock: every handler, including those that saw
		// no event of their own (dhcp on a DNS server), rotates on it and
		// samples idle seconds, so all sections cover the same periods.
		in.Tick(f.Timestamp)
	}
	in.last = f.Timestamp

	prog, err := in.filterFor(f.LinkType)
	if err != nil {
		return err
	}
	if prog != nil && !prog.Match(f.Data, f.OrigLen) {
		in.Counters.Filtered.Add(1)
		return nil
	}
	if err := decode.Decode(f.LinkType, f.Data, pkt); err != nil {
		// A malformed frame is still a packet on the wire: handlers count
		// what was decoded of it (pktvisor does the same); the error is
		// counted here.
		in.Counters.DecodeErrors.Add(1)
	}
	pkt.Timestamp = f.Timestamp
	pkt.CapLen = f.CapLen
	pkt.OrigLen = f.OrigLen
	if pkt.OrigLen < pkt.CapLen {
		pkt.OrigLen = pkt.CapLen
	}
	if f.Dir != decode.DirUnknown && in.opts.Hosts.Empty() {
		pkt.Dir = f.Dir
	} else {
		pkt.Dir = in.opts.Hosts.Direction(pkt)
	}
	in.Counters.Delivered.Add(1)
	for _, c := range hs.packet {
		c.HandlePacket(pkt)
	}
	if len(hs.tcp) > 0 {
		in.feedTCP(pkt, hs)
	}
	return nil
}

func (in *PacketInput) sendStats(hs *attached, ts time.Time) {
	s := in.src.Stats()
	s.Filtered += in.Counters.Filtered.Load()
	for _, c := range hs.stats {
		c.CaptureStats(s, ts)
	}
}

func (in *PacketInput) finish() {
	hs := in.handlers.Load()
	if in.last.IsZero() {
		return
	}
	in.flushTCP(in.last, hs)
	in.sendStats(hs, in.last)
	if !in.opts.Recorded {
		return
	}
	for _, b := range hs.bounded {
		b.EndAt(in.last)
	}
}

// Tick forwards a heartbeat to every handler that rotates on time.
func (in *PacketInput) Tick(ts time.Time) {
	for _, t := range in.handlers.Load().tickers {
		t.Tick(ts)
	}
}
