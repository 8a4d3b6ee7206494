package agent

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/flowinput"
	"github.com/visorng/visor/decode/flow"
)

// flowKeys are pktvisor's flow input keys plus two of ours: rcvbuf (socket
// receive buffer bytes) and sockets (SO_REUSEPORT sockets; 0 = one per CPU).
var flowKeys = []string{"flow_type", "bind", "port", "pcap_file", "rcvbuf", "sockets"}

// flowStream adapts the sFlow/NetFlow/IPFIX input to Stream: a UDP listener,
// or a capture of exported datagrams (pcap_file).
type flowStream struct {
	in       *flowinput.Input
	file     string
	listen   flowinput.ListenConfig
	handlers handler.Set
	addr     atomic.Value // netip.AddrPort once listening
}

var (
	_ Stream               = (*flowStream)(nil)
	_ handler.FlowConsumer = (*flowStream)(nil)
)

func newFlowStream(_ string, cfg handler.Config, _ InputEnv) (Stream, error) {
	typName, err := cfg.String("flow_type", "sflow")
	if err != nil {
		return nil, err
	}
	typ, err := flowinput.ParseType(typName)
	if err != nil {
		return nil, err
	}
	s := &flowStream{in: flowinput.New(typ, flow.NewTemplateCache(0, 0, 0))}
	s.in.Attach(s)
	if s.file, err = cfg.String("pcap_file", ""); err != nil {
		return nil, err
	}
	if s.file != "" {
		return s, nil
	}
	bind, err := cfg.String("bind", "")
	if err != nil {
		return nil, err
	}
	if bind == "" || !cfg.Has("port") {
		return nil, flowinput.ErrNoBind
	}
	port, err := cfg.Int("port", 0)
	if err != nil {
		return nil, err
	}
	if port > 65535 {
		return nil, errors.New("flow config port must be at most 65535")
	}
	rcv, err := cfg.Int("rcvbuf", 0)
	if err != nil {
		return nil, err
	}
	socks, err := cfg.Int("sockets", 0)
	if err != nil {
		return nil, err
	}
	s.listen = flowinput.ListenConfig{Bind: bind, Port: port, RcvBuf: rcv, Sockets: socks}
	return s, nil
}

func (s *flowStream) Attach(h handler.Handler) {
	s.handlers.Attach(h)
}

func (s *flowStream) Detach(h handler.Handler) {
	s.handlers.Detach(h)
}

// HandleFlows fans a datagram's records out to the attached handlers.
func (s *flowStream) HandleFlows(dev netip.Addr, ts time.Time, recs []flow.Record) {
	for _, h := range s.handlers.Load() {
		if c, ok := h.(handler.FlowConsumer); ok {
			c.HandleFlows(dev, ts, recs)
		}
	}
}

func (s *flowStream) tick(ts time.Time) {
	for _, h := range s.handlers.Load() {
		if t, ok := h.(handler.Ticker); ok {
			t.Tick(ts)
		}
	}
}

func (s *flowStream) Run(ctx context.Context) error {
	if s.file != "" {
		return s.runFile(ctx)
	}
	l, err := s.in.Listen(s.listen)
	if err != nil {
		return err
	}
	defer l.Close()
	s.addr.Store(l.Addr())
	go func() {
		// Flow datagrams carry wall-clock time; heartbeats rotate buckets
		// and sample rates while exporters are quiet.
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s.tick(now)
			}
		}
	}()
	err = l.Serve(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (s *flowStream) runFile(ctx context.Context) error {
	src, err := pcapfile.Open(s.file)
	if err != nil {
		return err
	}
	defer src.Close()
	start := func(ts time.Time) {
		for _, h := range s.handlers.Load() {
			if b, ok := h.(handler.Bounded); ok {
				b.StartAt(ts)
			}
		}
	}
	st, err := s.in.ReadSource(ctx, src, start)
	if !st.Last.IsZero() {
		for _, h := range s.handlers.Load() {
			if b, ok := h.(handler.Bounded); ok {
				b.EndAt(st.Last)
			}
		}
	}
	return err
}

func (s *flowStream) Close() error   { return nil }
func (s *flowStream) Recorded() bool { return s.file != "" }

func (s *flowStream) Info() map[string]any {
	st := s.in.Stats()
	info := map[string]any{
		"packet_errors":  st.DecodeErrors, // pktvisor's name
		"datagrams":      st.Datagrams,
		"records":        st.Records,
		"unknown_sets":   st.UnknownSets,
		"kernel_drops":   st.KernelDrops,
		"exporters":      len(st.Exporters),
		"templates_live": st.Templates,
	}
	if a, ok := s.addr.Load().(netip.AddrPort); ok {
		info["listen"] = a.String()
	} else if s.file == "" {
		info["listen"] = s.listen.Bind + ":" + strconv.Itoa(s.listen.Port)
	}
	return map[string]any{"flow": info}
}
