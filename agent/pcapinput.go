package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afpacket"
	"github.com/visorng/visor/agent/capture/afxdp"
	"github.com/visorng/visor/agent/capture/iface"
	"github.com/visorng/visor/agent/capture/libpcap"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/agent/filter"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
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

// Rejection records why a capture path was not used.
type Rejection struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// liveSpec is what every live capture path needs to open: the resolved
// interface, the tap's filter (evaluated in the kernel by every path) and
// the host set the kernel programs count directions with.
type liveSpec struct {
	ifc    iface.Interface
	filter string
	hosts  []netip.Prefix
}

// liveOpener opens a live source on a resolved interface.
type liveOpener func(spec liveSpec) (capture.Source, error)

// liveOpeners is the table of live capture paths built into this agent.
// Paths this build or OS lacks fail with the reason, so `auto` can say why
// it skipped them.
func liveOpeners() map[string]liveOpener {
	return map[string]liveOpener{
		sourceXDP:      openXDP,
		sourceTC:       openTC,
		sourceAFPacket: openAFPacket,
		sourceLibpcap:  openLibpcap,
	}
}

// kernelOptions are the kernel programs' options for the tap: sampling
// starts at 100 (every frame) until handlers attach and say what they need,
// and the filter is compiled for Ethernet, the programs' link type.
func kernelOptions(spec liveSpec) (bpf.Options, error) {
	o := bpf.Options{SampleRate: 100, HostNets: spec.hosts,
		// As the input does in user space: with no host set, the hook
		// side (TC ingress/egress) gives the direction.
		DirectionFromHook: len(spec.hosts) == 0}
	if spec.filter != "" {
		prog, err := filter.Compile(spec.filter, decode.LinkEthernet, filter.DefaultSnaplen)
		if err != nil {
			return o, fmt.Errorf("bpf filter %q: %w", spec.filter, err)
		}
		o.Filter = prog
	}
	return o, nil
}

func openXDP(spec liveSpec) (capture.Source, error) {
	o, err := kernelOptions(spec)
	if err != nil {
		return nil, err
	}
	return afxdp.Open(afxdp.Options{Iface: spec.ifc.Name, BPF: o})
}

func openTC(spec liveSpec) (capture.Source, error) {
	o, err := kernelOptions(spec)
	if err != nil {
		return nil, err
	}
	return tcring.Open(tcring.Options{Iface: spec.ifc.Name, BPF: o})
}

func openAFPacket(spec liveSpec) (capture.Source, error) {
	if runtime.GOOS != "linux" {
		return nil, errors.New("af_packet is only available on linux")
	}
	o := afpacket.Options{Iface: spec.ifc.Name}
	if spec.filter != "" {
		// Attached to the socket: the kernel drops rejected frames before
		// they use ring space (afpacket re-checks VLAN frames itself).
		link, err := afpacket.LinkTypeOf(spec.ifc.Name)
		if err != nil {
			return nil, err
		}
		prog, err := filter.Compile(spec.filter, link, afpacket.DefaultSnapLen)
		if err != nil {
			return nil, fmt.Errorf("bpf filter %q: %w", spec.filter, err)
		}
		raw, err := xbpf.Assemble(prog)
		if err != nil {
			return nil, fmt.Errorf("bpf filter %q: %w", spec.filter, err)
		}
		o.Filter = raw
	}
	return afpacket.Open(o)
}

func openLibpcap(spec liveSpec) (capture.Source, error) {
	return libpcap.Open(libpcap.Options{Iface: spec.ifc.Name, Filter: spec.filter})
}

// pcapStream is the pcap input: a file, the mock generator or a live
// interface, behind one PacketInput.
type pcapStream struct {
	src       capture.Source
	hb        *heartbeatSource
	in        *input.PacketInput
	stats     *statsTap
	kernel    *kernelPath // nil unless the source counts in the kernel
	log       *slog.Logger
	recorded  bool
	source    string // pcap_source reported in info
	path      string // capture path actually used
	rejected  []Rejection
	ifaceName string
	hosts     input.HostSet
	runErr    atomic.Pointer[string]
}

func newPcapStream(name string, cfg handler.Config, env InputEnv) (Stream, error) {
	return newPcapStreamWith(liveOpeners(), name, cfg, env)
}

// newPcapStreamWith takes the capture path table so tests can make paths
// fail the way a host would.
func newPcapStreamWith(openers map[string]liveOpener, name string, cfg handler.Config, env InputEnv) (Stream, error) {
	file, err := cfg.String("pcap_file", "")
	if err != nil {
		return nil, err
	}
	bpfExpr, err := cfg.String("bpf", "")
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
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &pcapStream{hosts: hosts, source: srcName, log: log}
	// Live paths filter in the kernel; files and the mock filter here.
	userFilter := bpfExpr
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
		if err := s.openLive(openers, cfg, srcName, bpfExpr); err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
		userFilter = ""
	}
	var feed capture.Source = s.src
	if !s.recorded {
		s.hb = &heartbeatSource{Source: s.src, log: log}
		feed = s.hb
	}
	in, err := input.NewPacketInput(feed, input.PacketOptions{Filter: userFilter, Hosts: s.hosts, Recorded: s.recorded})
	if err != nil {
		_ = s.src.Close()
		return nil, err
	}
	s.in = in
	s.stats = &statsTap{}
	if rs, ok := s.src.(rateSetter); ok && (s.path == sourceXDP || s.path == sourceTC) {
		s.kernel = newKernelPath(rs)
		s.stats.kernel = s.kernel
	}
	in.Attach(s.stats)
	if s.hb != nil {
		s.hb.tick = func(ts time.Time) {
			// Kernel deltas first, so they land in the second they were
			// counted in before the handlers rotate on the tick.
			s.stats.CaptureStats(s.src.Stats(), ts)
			in.Tick(ts)
		}
	}
	return s, nil
}

func (s *pcapStream) openLive(openers map[string]liveOpener, cfg handler.Config, srcName, bpfExpr string) error {
	spec, err := cfg.String("iface", "")
	if err != nil {
		return err
	}
	if spec == "" {
		return errors.New("iface or pcap_file is required for the pcap input")
	}
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
	ls := liveSpec{ifc: ifc, filter: bpfExpr, hosts: s.hosts.Prefixes()}
	for _, p := range order {
		src, err := openers[p](ls)
		if err == nil {
			s.src, s.path = src, p
			s.log.Info("capture path chosen", "iface", ifc.Name, "path", p, "pcap_source", srcName)
			return nil
		}
		s.log.Warn("capture path rejected", "iface", ifc.Name, "path", p, "reason", err.Error())
		s.rejected = append(s.rejected, Rejection{Path: p, Reason: err.Error()})
	}
	reasons := make([]string, len(s.rejected))
	for i, r := range s.rejected {
		reasons[i] = r.Path + ": " + r.Reason
	}
	return fmt.Errorf("no capture path could open %s (%s)", ifc.Name, strings.Join(reasons, "; "))
}

// Attach tells a handler, before its first packet, whether its counters
// come from the kernel, then adds it to the input.
func (s *pcapStream) Attach(h handler.Handler) {
	if s.kernel != nil {
		if err := s.kernel.attach(h); err != nil {
			s.log.Warn("kernel sample rate not changed", "err", err)
		}
	}
	s.in.Attach(h)
}

func (s *pcapStream) Detach(h handler.Handler) {
	s.in.Detach(h)
	if s.kernel != nil {
		if err := s.kernel.detach(h); err != nil {
			s.log.Warn("kernel sample rate not changed", "err", err)
		}
	}
}

func (s *pcapStream) Recorded() bool { return s.recorded }
func (s *pcapStream) Close() error   { return s.src.Close() }

// Run feeds the handlers. Live sources time out while idle; the loop turns
// those timeouts into heartbeats and cancellation checks. A deleted
// interface ends the input with an error naming it.
func (s *pcapStream) Run(ctx context.Context) error {
	if s.hb != nil {
		s.hb.ctx = ctx
	}
	if m, ok := s.src.(*mockSource); ok {
		m.done = ctx.Done()
	}
	err := s.in.Run(ctx)
	if err != nil && ctx.Err() == nil {
		if errors.Is(err, capture.ErrInterfaceGone) {
			err = fmt.Errorf("capture on %s stopped: %w", s.ifaceName, err)
		}
		msg := err.Error()
		s.runErr.Store(&msg)
	}
	return err
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
	capt := map[string]any{
		"path":          s.path,
		"rejected":      rej,
		"received":      st.Received,
		"os_drops":      st.OSDrops,
		"if_drops":      st.IfDrops,
		"filtered":      st.Filtered + s.in.Counters.Filtered.Load(),
		"decode_errors": s.in.Counters.DecodeErrors.Load(),
	}
	if m, ok := s.src.(interface{ AttachMode() string }); ok {
		capt["attach_mode"] = m.AttachMode()
	}
	if s.kernel != nil {
		capt["kernel_sample_rate"] = s.kernel.rate()
	}
	if k := st.Kernel; k != nil {
		capt["kernel"] = map[string]any{
			"packets": k.Packets, "bytes": k.Bytes, "filtered": k.Filtered,
			"sampled": k.Sampled, "not_sampled": k.NotSampled, "ring_failures": k.RingFailures,
		}
	}
	if e := s.runErr.Load(); e != nil {
		capt["error"] = *e
	}
	return map[string]any{
		"pcap": map[string]any{
			"available_iface": s.ifaceName,
			"host_ips":        map[string]any{"ipv4": hostsV4, "ipv6": hostsV6},
			"pcap_source":     s.source,
		},
		"capture": capt,
	}
}

// heartbeatSource retries a live source's idle timeouts, heartbeating the
// handlers about once a second of wall time so buckets rotate without
// traffic, and returns ctx's error once cancelled.
//
// A downed interface is logged once and waited out (the source delivers
// again when it comes back up); a deleted one ends the input.
type heartbeatSource struct {
	capture.Source
	ctx  context.Context
	tick func(time.Time)
	log  *slog.Logger
	last time.Time
	down bool
}

func (h *heartbeatSource) Next(f *capture.Frame) error {
	for {
		err := h.Source.Next(f)
		if now := time.Now(); now.Sub(h.last) >= time.Second {
			h.last = now
			h.tick(now)
		}
		isDown := errors.Is(err, capture.ErrInterfaceDown)
		if isDown != h.down && (isDown || err == nil || errors.Is(err, capture.ErrTimeout)) {
			h.down = isDown
			if isDown {
				h.log.Warn("capture interface is down; waiting for it to come back", "err", err)
			} else {
				h.log.Info("capture interface is up again")
			}
		}
		if errors.Is(err, capture.ErrTimeout) || isDown {
			if h.ctx.Err() != nil {
				return h.ctx.Err()
			}
			if isDown {
				// Sources may report down without waiting; do not spin.
				select {
				case <-h.ctx.Done():
					return h.ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
			continue
		}
		return err
	}
}

// statsTap keeps the latest capture stats the input loop published, so
// info requests never call the source from another goroutine (sources are
// not safe for that).
//
// On kernel-counting paths it also turns the cumulative kernel counters
// into the deltas kernel-counted handlers take their counters from; it is
// attached before any handler, so each second's delta reaches them before
// the tick that may rotate their buckets.
type statsTap struct {
	cur    atomic.Pointer[capture.Stats]
	kernel *kernelPath
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

func (t *statsTap) CaptureStats(s capture.Stats, ts time.Time) {
	t.store(s)
	if t.kernel != nil && s.Kernel != nil {
		t.kernel.deliver(s.Kernel, ts)
	}
}

func (t *statsTap) Name() string    { return "capture-stats" }
func (t *statsTap) Type() string    { return "capture-stats" }
func (t *statsTap) Version() string { return "1.0" }
func (t *statsTap) Schema() string  { return "capture-stats" }
func (t *statsTap) Periods() int    { return 1 }
func (t *statsTap) Emits() bool     { return false }
func (t *statsTap) WriteBucket(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
func (t *statsTap) WriteWindow(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
