// Package netprobe is pktvisor's netprobe input: active ICMP/ICMPv6 echo and
// TCP connect probes to configured targets, delivered as send, receive and
// failure events to attached handlers.
//
// Ping uses an unprivileged ICMP datagram socket where the kernel allows it
// (net.ipv4.ping_group_range covers the process's group; the kernel then
// owns the echo identifier) and falls back to a raw ICMP socket (needs
// CAP_NET_RAW) otherwise. One socket per target and family is kept open
// across rounds; DNS names are re-resolved every interval. A probe without a
// reply within timeout_msec becomes a Timeout failure and a reply arriving
// after that is dropped, so each probe ends exactly once.
package netprobe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/handler"
)

// Kind is what an Event reports.
type Kind uint8

const (
	KindSend Kind = iota + 1
	KindRecv
	KindFail
)

// ErrorType says why a probe failed, as pktvisor's ErrorType.
type ErrorType uint8

const (
	ErrNone ErrorType = iota
	ErrTimeout
	ErrSocket
	ErrInvalidIP
	ErrConnect
	ErrDNSLookup
)

func (e ErrorType) String() string {
	switch e {
	case ErrTimeout:
		return "Timeout"
	case ErrSocket:
		return "SocketError"
	case ErrInvalidIP:
		return "InvalidIp"
	case ErrConnect:
		return "ConnectFailure"
	case ErrDNSLookup:
		return "DnsLookupFailure"
	}
	return "None"
}

// Event is one probe event. Consumers must not keep the pointer.
type Event struct {
	Kind   Kind
	Type   TestType
	Target string
	// ID identifies the probe within its target: (identifier << 16) |
	// sequence for ping, 0 for tcp (pktvisor keys TCP by target).
	ID   uint32
	Time time.Time
	Err  ErrorType // KindFail only
}

// Consumer receives probe events; handlers implement it.
type Consumer interface {
	ProbeEvent(e *Event)
}

// TTLReceiver is implemented by handlers that take their transaction TTL
// from the input's timeout_msec unless configured otherwise.
type TTLReceiver interface {
	SetInputTTL(d time.Duration)
}

// Options are the input's injectable dependencies.
type Options struct {
	// Resolver resolves DNS targets; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Now is the clock events are stamped with; nil means time.Now.
	Now func() time.Time
}

// Input runs the probes.
type Input struct {
	cfg  Config
	opts Options

	handlers handler.Set

	pingSockets atomic.Int64
}

// New builds an input from a parsed configuration.
func New(cfg Config, opts Options) (*Input, error) {
	if cfg.Test != TestPing && cfg.Test != TestTCP {
		return nil, errors.New("netprobe: no test type")
	}
	if len(cfg.Targets) == 0 {
		return nil, errors.New("no targets specified")
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	in := &Input{cfg: cfg, opts: opts}
	return in, nil
}

// Config returns the input's configuration.
func (in *Input) Config() Config { return in.cfg }

// Attach adds a handler; it receives events if it is a Consumer, and the
// input's timeout as its TTL if it is a TTLReceiver.
func (in *Input) Attach(h handler.Handler) {
	if r, ok := h.(TTLReceiver); ok {
		r.SetInputTTL(in.cfg.Timeout)
	}
	in.handlers.Attach(h)
}

// Detach removes a handler.
func (in *Input) Detach(h handler.Handler) {
	in.handlers.Detach(h)
}

// Info is the input's part of the info JSON.
func (in *Input) Info() map[string]any {
	return map[string]any{"netprobe": map[string]any{
		"current_targets_total": len(in.cfg.Targets),
		"ping_sockets":          in.pingSockets.Load(),
	}}
}

func (in *Input) emit(e *Event) {
	for _, h := range in.handlers.Load() {
		if c, ok := h.(Consumer); ok {
			c.ProbeEvent(e)
		}
	}
}

// Run probes every target each interval until ctx is cancelled, then waits
// for in-flight probes and returns ctx.Err().
func (in *Input) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i, t := range in.cfg.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.runTarget(ctx, uint16(i+1), t)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (in *Input) runTarget(ctx context.Context, id uint16, t Target) {
	var p *pinger
	defer func() {
		if p != nil {
			p.close()
			in.pingSockets.Add(-1)
		}
	}()
	tick := time.NewTicker(in.cfg.Interval)
	defer tick.Stop()
	for round := uint32(0); ; round++ {
		addr, ok := in.resolve(ctx, t)
		if ok {
			switch in.cfg.Test {
			case TestPing:
				if p != nil && p.family != family(addr) {
					p.close()
					in.pingSockets.Add(-1)
					p = nil
				}
				if p == nil {
					var err error
					if p, err = newPinger(addr, id, in); err != nil {
						p = nil
						in.emit(&Event{Kind: KindFail, Type: TestPing, Target: t.Name, Time: in.opts.Now(), Err: ErrSocket})
						break
					}
					in.pingSockets.Add(1)
				}
				p.round(ctx, t.Name, addr, round)
			case TestTCP:
				in.tcpProbe(ctx, t, addr)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// resolve returns the target's address, resolving names every round.
func (in *Input) resolve(ctx context.Context, t Target) (netip.Addr, bool) {
	if t.Addr.IsValid() {
		return t.Addr, true
	}
	network := "ip"
	switch t.IPVersion {
	case 4:
		network = "ip4"
	case 6:
		network = "ip6"
	}
	rctx, cancel := context.WithTimeout(ctx, in.cfg.Timeout)
	defer cancel()
	addrs, err := in.opts.Resolver.LookupNetIP(rctx, network, t.Host)
	if err != nil || len(addrs) == 0 {
		if ctx.Err() == nil {
			in.emit(&Event{Kind: KindFail, Type: in.cfg.Test, Target: t.Name, Time: in.opts.Now(), Err: ErrDNSLookup})
		}
		return netip.Addr{}, false
	}
	return addrs[0].Unmap(), true
}

// tcpProbe is one connect attempt: send at connect start, recv on success.
func (in *Input) tcpProbe(ctx context.Context, t Target, addr netip.Addr) {
	in.emit(&Event{Kind: KindSend, Type: TestTCP, Target: t.Name, Time: in.opts.Now()})
	d := net.Dialer{Timeout: in.cfg.Timeout}
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, t.Port).String())
	now := in.opts.Now()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		e := ErrConnect
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			e = ErrTimeout
		}
		in.emit(&Event{Kind: KindFail, Type: TestTCP, Target: t.Name, Time: now, Err: e})
		return
	}
	_ = c.Close()
	in.emit(&Event{Kind: KindRecv, Type: TestTCP, Target: t.Name, Time: now})
}

func (k Kind) String() string {
	switch k {
	case KindSend:
		return "send"
	case KindRecv:
		return "recv"
	case KindFail:
		return "fail"
	}
	return "unknown"
}
