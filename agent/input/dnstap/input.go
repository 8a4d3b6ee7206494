// Package dnstap is the dnstap input: Frame Streams sessions carrying
// dnstap protobuf messages, read from a file, a unix socket or a TCP
// listener, delivered to every attached handler.DnstapConsumer.
//
// A malformed frame or a protocol violation ends only the session it
// happened in, counted in Counters; the input keeps listening. Frames that
// are not MESSAGE dnstap payloads are skipped and counted.
package dnstap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	dt "github.com/dnstap/golang-dnstap"
	"google.golang.org/protobuf/proto"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode"
)

// Options select the source; File wins over Socket over TCP, as pktvisor's
// precedence of dnstap_file, socket and tcp.
type Options struct {
	File   string
	Socket string
	TCP    string // HOST:PORT
	// OnlyHosts keeps messages whose query or response address is inside
	// one of the prefixes (pktvisor's only_hosts).
	OnlyHosts []netip.Prefix
	// Heartbeat is how often live sessions tick handlers (default 30 s,
	// first after 1 s).
	Heartbeat time.Duration
	// Now is the wall clock (tests inject one).
	Now func() time.Time
}

// Counters are cumulative.
type Counters struct {
	Sessions       atomic.Uint64
	Frames         atomic.Uint64
	Messages       atomic.Uint64 // delivered to handlers
	Filtered       atomic.Uint64 // only_hosts
	Skipped        atomic.Uint64 // not a MESSAGE, or no message
	DecodeErrors   atomic.Uint64 // frames that are not a dnstap protobuf
	ProtocolErrors atomic.Uint64 // sessions closed for a protocol violation or truncation
}

// Input is a dnstap input.
type Input struct {
	opts     Options
	handlers handler.Set

	Counters Counters
}

// ErrNoSource is returned when Options name no source.
var ErrNoSource = errors.New("config must specify one of: socket, dnstap_file")

// New validates opts.
func New(opts Options) (*Input, error) {
	if opts.File == "" && opts.Socket == "" && opts.TCP == "" {
		return nil, ErrNoSource
	}
	if opts.File == "" && opts.Socket == "" {
		if _, _, err := net.SplitHostPort(opts.TCP); err != nil {
			return nil, errors.New("invalid tcp address specification, use HOST:PORT")
		}
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	in := &Input{opts: opts}
	return in, nil
}

// Attach adds a handler; it receives messages if it is a DnstapConsumer.
func (in *Input) Attach(h handler.Handler) {
	in.handlers.Attach(h)
}

// Detach removes a handler.
func (in *Input) Detach(h handler.Handler) {
	in.handlers.Detach(h)
}

// Run reads the file (returning at its end) or serves the socket/listener
// until ctx is cancelled.
func (in *Input) Run(ctx context.Context) error {
	switch {
	case in.opts.File != "":
		return in.runFile(ctx)
	case in.opts.Socket != "":
		// An existing file at the path is removed first, as pktvisor does.
		if err := os.Remove(in.opts.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("dnstap socket %s: %w", in.opts.Socket, err)
		}
		ln, err := net.Listen("unix", in.opts.Socket)
		if err != nil {
			return fmt.Errorf("dnstap socket: %w", err)
		}
		defer os.Remove(in.opts.Socket)
		return in.serve(ctx, ln)
	default:
		ln, err := net.Listen("tcp", in.opts.TCP)
		if err != nil {
			return fmt.Errorf("dnstap tcp: %w", err)
		}
		return in.serve(ctx, ln)
	}
}

// Serve accepts sessions on ln until ctx is cancelled (the listener is
// closed then). Tests and callers that own the listener use it directly.
func (in *Input) Serve(ctx context.Context, ln net.Listener) error { return in.serve(ctx, ln) }

func (in *Input) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var conns sync.Map
	go func() {
		<-ctx.Done()
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.heartbeat(ctx)
	}()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("dnstap accept: %w", err)
		}
		conns.Store(c, struct{}{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns.Delete(c)
			defer c.Close()
			in.session(NewReader(c, c), false)
		}()
	}
}

func (in *Input) heartbeat(ctx context.Context) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := in.opts.Now()
			for _, h := range in.handlers.Load() {
				if tk, ok := h.(handler.Ticker); ok {
					tk.Tick(now)
				}
			}
			t.Reset(in.opts.Heartbeat)
		}
	}
}

func (in *Input) runFile(ctx context.Context) error {
	f, err := os.Open(in.opts.File)
	if err != nil {
		return fmt.Errorf("dnstap file: %w", err)
	}
	defer f.Close()
	r := NewReader(&ctxReader{ctx: ctx, r: f}, nil)
	in.session(r, true)
	return ctx.Err()
}

// ctxReader stops a file read when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// session reads one Frame Streams session to its end. Recorded sessions
// (files) bound the handlers' buckets by the first and last message times.
func (in *Input) session(r *Reader, recorded bool) {
	in.Counters.Sessions.Add(1)
	var (
		pb          dt.Dnstap
		msg         handler.DnstapMessage
		first, last time.Time
	)
	for {
		frame, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				in.Counters.ProtocolErrors.Add(1)
			}
			break
		}
		in.Counters.Frames.Add(1)
		pb.Reset()
		if err := proto.Unmarshal(frame, &pb); err != nil {
			in.Counters.DecodeErrors.Add(1)
			continue
		}
		if !convert(&pb, &msg, len(frame)) {
			in.Counters.Skipped.Add(1)
			continue
		}
		if !in.hostsPass(&msg) {
			in.Counters.Filtered.Add(1)
			continue
		}
		hs := in.handlers.Load()
		if recorded {
			ts := msg.QueryTime
			if msg.Type.IsResponse() && !msg.ResponseTime.IsZero() {
				ts = msg.ResponseTime
			}
			if !ts.IsZero() {
				if first.IsZero() {
					first = ts
					for _, h := range hs {
						if b, ok := h.(handler.Bounded); ok {
							b.StartAt(ts)
						}
					}
				}
				last = ts
			}
		}
		in.Counters.Messages.Add(1)
		for _, h := range hs {
			if c, ok := h.(handler.DnstapConsumer); ok {
				c.HandleDnstap(&msg)
			}
		}
	}
	if recorded && !last.IsZero() {
		for _, h := range in.handlers.Load() {
			if b, ok := h.(handler.Bounded); ok {
				b.EndAt(last)
			}
		}
	}
}

// hostsPass applies only_hosts: a message passes when an address it
// carries is inside; messages without addresses are dropped.
func (in *Input) hostsPass(m *handler.DnstapMessage) bool {
	if len(in.opts.OnlyHosts) == 0 {
		return true
	}
	for _, a := range [2]netip.Addr{m.QueryAddr, m.ResponseAddr} {
		if !a.IsValid() {
			continue
		}
		for _, p := range in.opts.OnlyHosts {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// convert fills m from a dnstap protobuf; false when it is not a MESSAGE
// with a message.
func convert(pb *dt.Dnstap, m *handler.DnstapMessage, size int) bool {
	if pb.GetType() != dt.Dnstap_MESSAGE || pb.Message == nil {
		return false
	}
	x := pb.Message
	*m = handler.DnstapMessage{
		Type:            handler.DnstapType(x.GetType()),
		Protocol:        handler.DnstapProtocol(x.GetSocketProtocol()),
		QueryPort:       uint16(x.GetQueryPort()),
		ResponsePort:    uint16(x.GetResponsePort()),
		QueryMessage:    x.GetQueryMessage(),
		ResponseMessage: x.GetResponseMessage(),
		FrameSize:       size,
	}
	if x.SocketFamily != nil {
		switch x.GetSocketFamily() {
		case dt.SocketFamily_INET:
			m.Family = decode.L3IPv4
		case dt.SocketFamily_INET6:
			m.Family = decode.L3IPv6
		}
	}
	m.QueryAddr, _ = netip.AddrFromSlice(x.GetQueryAddress())
	m.ResponseAddr, _ = netip.AddrFromSlice(x.GetResponseAddress())
	if x.QueryTimeSec != nil {
		m.QueryTime = time.Unix(int64(x.GetQueryTimeSec()), int64(x.GetQueryTimeNsec()))
	}
	if x.ResponseTimeSec != nil {
		m.ResponseTime = time.Unix(int64(x.GetResponseTimeSec()), int64(x.GetResponseTimeNsec()))
	}
	return true
}
