package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afpacket"
	"github.com/visorng/visor/agent/capture/iface"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

var pcapKeys = []string{"iface", "bpf", "debug", "host_spec", "pcap_file", "pcap_source",
	"tcp_packet_reassembly_cache_limit"}

// Capture paths pcap_source may name. "auto" tries them in autoOrder.
const (
	sourceAuto     = "auto"
	sourceXDP      = "xdp"
	sourceTC       = "tc"
	sourceAFPacket = "af_packet"
	sourceLibpcap  = "libpcap"
	sourceMock     = "mock"
)

var autoOrder = []string{sourceXDP, sourceTC, sourceAFPacket, sourceLibpcap}

// errNotBuilt marks a capture path this build does not include.
var errNotBuilt = errors.New("not available in this build")

// Rejection records why a capture path was not used.
type Rejection struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// liveOpener opens a live source on a resolved interface.
type liveOpener func(ifc iface.Interface) (capture.Source, error)

// liveOpeners is the table of live capture paths built into this agent.
// Paths that are missing report errNotBuilt, so `auto` can say why it
// skipped them.
func liveOpeners() map[string]liveOpener {
	notBuilt := func(iface.Interface) (capture.Source, error) { return nil, errNotBuilt }
	return map[string]liveOpener{
		sourceXDP: notBuilt,
		sourceTC:  notBuilt,
		sourceAFPacket: func(ifc iface.Interface) (capture.Source, error) {
			if runtime.GOOS != "linux" {
				return nil, errors.New("af_packet is only available on linux")
			}
			return afpacket.Open(afpacket.Options{Iface: ifc.Name})
		},
		sourceLibpcap: notBuilt,
	}
}

// pcapStream is the pcap input: a file, the mock generator or a live
// interface, behind one PacketInput.
type pcapStream struct {
	src       capture.Source
	hb        *heartbeatSource
	in        *input.PacketInput
	stats     *statsTap
	recorded  bool
	source    string // pcap_source reported in info
	path      string // capture path actually used
	rejected  []Rejection
	ifaceName string
	hosts     input.HostSet
}

func newPcapStream(name string, cfg handler.Config, env InputEnv) (Stream, error) {
	file, err := cfg.String("pcap_file", "")
	if err != nil {
		return nil, err
	}
	bpf, err := cfg.String("bpf", "")
	if err != nil {
		return nil, err
	}
	spec, err := cfg.String("host_spec", "")
	if err != nil {
		return nil, err
	}
	hosts, err := input.ParseHostSpec(spec)
	if err != nil {
		return nil, err
	}
	srcName, err := cfg.String("pcap_source", sourceAuto)
	if err != nil {
		return nil, err
	}
	s := &pcapStream{hosts: hosts, source: srcName}
	switch {
	case file != "":
		src, err := pcapfile.Open(file)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
		s.src, s.recorded, s.path, s.source = src, true, "pcap_file", "pcap_file"
	case srcName == sourceMock:
		s.src, s.path = newMockSource(env.Now), sourceMock
		if s.hosts.Empty() {
			s.hosts, _ = input.ParseHostSpec(mockHost + "/32")
		}
	default:
		if err := s.openLive(cfg, srcName); err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
	}
	var feed capture.Source = s.src
	if !s.recorded {
		s.hb = &heartbeatSource{Source: s.src}
		feed = s.hb
	}
	in, err := input.NewPacketInput(feed, input.PacketOptions{Filter: bpf, Hosts: s.hosts, Recorded: s.recorded})
	if err != nil {
		_ = s.src.Close()
		return nil, err
	}
	s.in = in
	s.stats = &statsTap{}
	in.Attach(s.stats)
	if s.hb != nil {
		s.hb.tick = func(ts time.Time) {
			in.Tick(ts)
			// The reading goroutine may call Stats; others may not.
			s.stats.store(s.src.Stats())
		}
	}
	return s, nil
}

func (s *pcapStream) openLive(cfg handler.Config, srcName string) error {
	spec, err := cfg.String("iface", "")
	if err != nil {
		return err
	}
	if spec == "" {
		return errors.New("iface or pcap_file is required for the pcap input")
	}
	openers := liveOpeners()
	var order []string
	switch srcName {
	case sourceAuto:
		order = autoOrder
	case sourceXDP, sourceTC, sourceAFPacket, sourceLibpcap:
		order = []string{srcName}
	default:
		return errors.New("unknown pcap source")
	}
	ifc, err := iface.Resolve(spec)
	if err != nil {
		return err
	}
	s.ifaceName = ifc.Name
	if s.hosts.Empty() {
		s.hosts = input.HostSetOf(ifc.Addrs)
	}
	for _, p := range order {
		src, err := openers[p](ifc)
		if err == nil {
			s.src, s.path = src, p
			return nil
		}
		s.rejected = append(s.rejected, Rejection{Path: p, Reason: err.Error()})
	}
	reasons := make([]string, len(s.rejected))
	for i, r := range s.rejected {
		reasons[i] = r.Path + ": " + r.Reason
	}
	return fmt.Errorf("no capture path could open %s (%s)", ifc.Name, strings.Join(reasons, "; "))
}

func (s *pcapStream) Attach(h handler.Handler) { s.in.Attach(h) }
func (s *pcapStream) Detach(h handler.Handler) { s.in.Detach(h) }
func (s *pcapStream) Recorded() bool           { return s.recorded }
func (s *pcapStream) Close() error             { return s.src.Close() }

// Run feeds the handlers. Live sources time out while idle; the loop turns
// those timeouts into heartbeats and cancellation checks.
func (s *pcapStream) Run(ctx context.Context) error {
	if s.hb != nil {
		s.hb.ctx = ctx
	}
	if m, ok := s.src.(*mockSource); ok {
		m.done = ctx.Done()
	}
	return s.in.Run(ctx)
}

func (s *pcapStream) Info() map[string]any {
	st := s.stats.load()
	hostsV4, hostsV6 := []string{}, []string{}
	for _, p := range s.hosts.Prefixes() {
		if p.Addr().Is4() {
			hostsV4 = append(hostsV4, p.String())
		} else {
			hostsV6 = append(hostsV6, p.String())
		}
	}
	rej := s.rejected
	if rej == nil {
		rej = []Rejection{}
	}
	return map[string]any{
		"pcap": map[string]any{
			"available_iface": s.ifaceName,
			"host_ips":        map[string]any{"ipv4": hostsV4, "ipv6": hostsV6},
			"pcap_source":     s.source,
		},
		"capture": map[string]any{
			"path":          s.path,
			"rejected":      rej,
			"received":      st.Received,
			"os_drops":      st.OSDrops,
			"if_drops":      st.IfDrops,
			"filtered":      st.Filtered + s.in.Counters.Filtered.Load(),
			"decode_errors": s.in.Counters.DecodeErrors.Load(),
		},
	}
}

// heartbeatSource retries a live source's idle timeouts, heartbeating the
// handlers about once a second of wall time so buckets rotate without
// traffic, and returns ctx's error once cancelled.
type heartbeatSource struct {
	capture.Source
	ctx  context.Context
	tick func(time.Time)
	last time.Time
}

func (h *heartbeatSource) Next(f *capture.Frame) error {
	for {
		err := h.Source.Next(f)
		if now := time.Now(); now.Sub(h.last) >= time.Second {
			h.last = now
			h.tick(now)
		}
		if errors.Is(err, capture.ErrTimeout) || errors.Is(err, capture.ErrInterfaceDown) {
			if h.ctx.Err() != nil {
				return h.ctx.Err()
			}
			continue
		}
		return err
	}
}

// statsTap keeps the latest capture stats the input loop published, so
// info requests never call the source from another goroutine (sources are
// not safe for that).
type statsTap struct {
	cur atomic.Pointer[capture.Stats]
}

var (
	_ handler.Handler              = (*statsTap)(nil)
	_ handler.CaptureStatsConsumer = (*statsTap)(nil)
)

func (t *statsTap) store(s capture.Stats) { t.cur.Store(&s) }

func (t *statsTap) load() capture.Stats {
	if p := t.cur.Load(); p != nil {
		return *p
	}
	return capture.Stats{}
}

func (t *statsTap) CaptureStats(s capture.Stats, _ time.Time) { t.store(s) }
func (t *statsTap) Name() string                              { return "capture-stats" }
func (t *statsTap) Type() string                              { return "capture-stats" }
func (t *statsTap) Version() string                           { return "1.0" }
func (t *statsTap) Schema() string                            { return "capture-stats" }
func (t *statsTap) Periods() int                              { return 1 }
func (t *statsTap) Emits() bool                               { return false }
func (t *statsTap) WriteBucket(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
func (t *statsTap) WriteWindow(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
