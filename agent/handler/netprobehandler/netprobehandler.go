// Package netprobehandler implements pktvisor's netprobe handler (schema
// "netprobe"): per-target attempts, successes, failures, timeouts and
// response times of the netprobe input's probes.
//
// A probe's send event opens a transaction keyed by target and probe id
// (ICMP (id << 16) | sequence; TCP by target alone, as pktvisor); its
// receive event within the TTL closes it as a success with a latency
// sample, a later one counts as a timeout. The input itself reports probes
// that never got an answer as Timeout failures. Open transactions are
// dropped at every period shift.
package netprobehandler

import (
	"slices"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/netprobe"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/sketches"
)

const schema = "netprobe"

var (
	configKeys    = []string{"recorded_stream", "xact_ttl_secs", "xact_ttl_ms"}
	groups        = []string{"counters", "histograms", "quantiles"}
	defaultGroups = []string{"counters", "histograms"}
)

// DefaultTTL applies when neither the handler nor the input set one.
const DefaultTTL = 5 * time.Second

// MaxTargets bounds the per-target series a bucket keeps; events for more
// targets are dropped (the input's target list is fixed, so this only
// matters when one handler is fed by many inputs).
const MaxTargets = 4096

// maxOpen bounds open transactions (a probe round per target is at most
// packets_per_test of them).
const maxOpen = 1 << 16

type target struct {
	attempts, successes, connectFailures, dnsFailures, timeouts uint64
	min, max                                                    float64
	hist                                                        *sketches.Histogram
	q                                                           *sketches.Quantile
}

func newTarget() *target {
	h, _ := sketches.NewHistogram(sketches.LatencyBoundsUS())
	q, _ := sketches.NewQuantile(0.01)
	return &target{hist: h, q: q}
}

func (t *target) sample(us float64) {
	if t.hist.Count() == 0 && t.q.Empty() || us < t.min {
		t.min = us
	}
	if us > t.max {
		t.max = us
	}
}

type bucket struct {
	targets map[string]*target
}

func newBucket() *bucket { return &bucket{targets: map[string]*target{}} }

func (b *bucket) get(name string) *target {
	t, ok := b.targets[name]
	if !ok {
		if len(b.targets) >= MaxTargets {
			return nil
		}
		t = newTarget()
		b.targets[name] = t
	}
	return t
}

func (b *bucket) Merge(o *bucket) {
	for name, ot := range o.targets {
		t := b.get(name)
		if t == nil {
			continue
		}
		hadSamples := t.hist.Count() > 0 || !t.q.Empty()
		t.attempts += ot.attempts
		t.successes += ot.successes
		t.connectFailures += ot.connectFailures
		t.dnsFailures += ot.dnsFailures
		t.timeouts += ot.timeouts
		if ot.hist.Count() > 0 || !ot.q.Empty() {
			if !hadSamples || ot.min < t.min {
				t.min = ot.min
			}
			t.max = max(t.max, ot.max)
		}
		_ = t.hist.Merge(ot.hist)
		_ = t.q.Merge(ot.q)
	}
}

func (b *bucket) Reset()          { clear(b.targets) }
func (b *bucket) Tick(time.Time)  {}
func (b *bucket) Close(time.Time) {}

type xkey struct {
	target string
	id     uint32
}

// Handler is the netprobe handler.
type Handler struct {
	common  handler.Common
	groups  handler.Groups
	sampler window.Sampler
	mgr     *window.Manager[*bucket]

	// Guarded by mgr's lock.
	ttl    time.Duration
	ttlSet bool // configured on the handler: the input's timeout does not override it
	open   map[xkey]time.Time
}

var (
	_ handler.Handler      = (*Handler)(nil)
	_ handler.Ticker       = (*Handler)(nil)
	_ netprobe.Consumer    = (*Handler)(nil)
	_ netprobe.TTLReceiver = (*Handler)(nil)
)

// New builds a netprobe handler.
func New(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	c, g, err := handler.ParseModule(name, cfg, configKeys, groups, defaultGroups)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		common: c, groups: g, sampler: window.NewSampler(c.SampleRate),
		mgr: window.New(newBucket, c.WindowOptions()), ttl: DefaultTTL, open: map[xkey]time.Time{},
	}
	if cfg.Has("xact_ttl_ms") {
		ms, err := cfg.Uint("xact_ttl_ms", 0)
		if err != nil {
			return nil, err
		}
		h.ttl, h.ttlSet = time.Duration(ms)*time.Millisecond, true
	} else if cfg.Has("xact_ttl_secs") {
		s, err := cfg.Uint("xact_ttl_secs", 0)
		if err != nil {
			return nil, err
		}
		h.ttl, h.ttlSet = time.Duration(s)*time.Second, true
	}
	h.mgr.OnShift(func(_, _ *bucket, _ time.Time) { clear(h.open) })
	return h, nil
}

func (h *Handler) Name() string      { return h.common.Name }
func (h *Handler) Type() string      { return "netprobe" }
func (h *Handler) Version() string   { return "1.0" }
func (h *Handler) Schema() string    { return schema }
func (h *Handler) Periods() int      { return h.mgr.Periods() }
func (h *Handler) Emits() bool       { return h.groups.Any() }
func (h *Handler) Tick(ts time.Time) { h.mgr.Lock(); h.mgr.Tick(ts); h.mgr.Unlock() }

// SetInputTTL takes the input's timeout_msec as the TTL unless the handler
// was configured with one.
func (h *Handler) SetInputTTL(d time.Duration) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	if !h.ttlSet && d > 0 {
		h.ttl = d
	}
}

// ProbeEvent accounts one event of the netprobe input.
func (h *Handler) ProbeEvent(e *netprobe.Event) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	b := h.mgr.Live(e.Time)
	deep := h.sampler.Next()
	t := b.get(e.Target)
	if t == nil {
		return
	}
	counters := h.groups.On("counters")
	k := xkey{e.Target, e.ID}
	switch e.Kind {
	case netprobe.KindSend:
		if counters {
			t.attempts++
		}
		if len(h.open) < maxOpen {
			h.open[k] = e.Time
		}
	case netprobe.KindRecv:
		start, ok := h.open[k]
		if !ok {
			return // a reply without a request is ignored
		}
		delete(h.open, k)
		rtt := e.Time.Sub(start)
		if rtt > h.ttl {
			if counters {
				t.timeouts++
			}
			return
		}
		if counters {
			t.successes++
		}
		if !deep {
			return
		}
		us := float64(rtt.Microseconds())
		histOn, qOn := h.groups.On("histograms"), h.groups.On("quantiles")
		if histOn || qOn {
			t.sample(us)
		}
		if histOn {
			t.hist.Add(us)
		}
		if qOn {
			t.q.Add(us)
		}
	case netprobe.KindFail:
		delete(h.open, k)
		if !counters {
			return
		}
		switch e.Err {
		case netprobe.ErrDNSLookup:
			t.dnsFailures++
		case netprobe.ErrTimeout:
			t.timeouts++
		case netprobe.ErrSocket, netprobe.ErrInvalidIP, netprobe.ErrConnect:
			t.connectFailures++
		}
	}
}

var (
	nAttempts  = metrics.N(schema, "Total Net Probe attempts", "attempts")
	nSuccesses = metrics.N(schema, "Total Net Probe successes", "successes")
	nConnFail  = metrics.N(schema, "Total Net Probe failures when performing a TCP socket connection", "connect_failures")
	nDNSFail   = metrics.N(schema, "Total Net Probe failures when performing DNS lookup", "dns_lookup_failures")
	nTimeouts  = metrics.N(schema, "Total Net Probe timeout transactions", "packets_timeout")
	nMin       = metrics.N(schema, "Minimum response time measured in the reporting interval", "response_min_us")
	nMax       = metrics.N(schema, "Maximum response time measured in the reporting interval", "response_max_us")
	nHist      = metrics.N(schema, "Net Probe quantile in microseconds", "response_histogram_us")
	nQuant     = metrics.N(schema, "Net Probe quantile in microseconds", "response_quantiles_us")
)

func (h *Handler) write(b *bucket, w metrics.Writer) {
	names := make([]string, 0, len(b.targets))
	for n := range b.targets {
		names = append(names, n)
	}
	slices.Sort(names)
	counters, histOn, qOn := h.groups.On("counters"), h.groups.On("histograms"), h.groups.On("quantiles")
	for _, n := range names {
		t := b.targets[n]
		tw := w.Group("targets", "", "").Group(n, "target", n)
		if counters {
			tw.Counter(nAttempts, t.attempts)
			tw.Counter(nSuccesses, t.successes)
			tw.Counter(nConnFail, t.connectFailures)
			tw.Counter(nDNSFail, t.dnsFailures)
			tw.Counter(nTimeouts, t.timeouts)
		}
		hasSamples := (histOn && t.hist.Count() > 0) || (qOn && !t.q.Empty())
		if counters && hasSamples {
			tw.Counter(nMin, uint64(t.min))
			tw.Counter(nMax, uint64(t.max))
		}
		if histOn && t.hist.Count() > 0 {
			tw.Histogram(nHist, t.hist)
		}
		if qOn && !t.q.Empty() {
			tw.Quantile(nQuant, t.q)
		}
	}
}

// WriteBucket writes bucket p.
func (h *Handler) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucket, sp window.Span) { h.write(b, w) })
}

// WriteWindow writes the merged window of p buckets.
func (h *Handler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucket, sp window.Span) { h.write(b, w) })
}
