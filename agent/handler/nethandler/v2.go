package nethandler

import (
	"net/netip"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/sketches"
)

const schemaV2 = "net"

var groupsV2 = []string{"counters", "cardinality", "quantiles", "top_geo", "top_ips"}

// dirMetrics is one direction's section of a net v2 bucket.
type dirMetrics struct {
	seen                                 bool
	udp, tcp, otherL4, ipv4, ipv6, total uint64
	syn                                  uint64
	ips                                  *sketches.HLL
	tops                                 ipTops
	size                                 *sketches.Quantile
	pps, bps                             *sketches.Rate
}

func newDirMetrics() dirMetrics {
	h, _ := sketches.NewHLL(hllPrecision)
	q, _ := sketches.NewQuantile(0.01)
	return dirMetrics{ips: h, tops: newIPTops(), size: q, pps: sketches.NewRate(), bps: sketches.NewRate()}
}

func (d *dirMetrics) merge(o *dirMetrics) {
	d.seen = d.seen || o.seen
	d.udp += o.udp
	d.tcp += o.tcp
	d.otherL4 += o.otherL4
	d.ipv4 += o.ipv4
	d.ipv6 += o.ipv6
	d.total += o.total
	d.syn += o.syn
	_ = d.ips.Merge(o.ips)
	d.tops.merge(&o.tops)
	_ = d.size.Merge(o.size)
	_ = d.pps.Merge(o.pps)
	_ = d.bps.Merge(o.bps)
}

func (d *dirMetrics) reset() {
	d.seen = false
	d.udp, d.tcp, d.otherL4, d.ipv4, d.ipv6, d.total, d.syn = 0, 0, 0, 0, 0, 0, 0
	d.ips.Reset()
	d.tops.reset()
	d.size.Reset()
	d.pps.Reset()
	d.bps.Reset()
}

// count updates the direction's counters and rates for one packet.
func (d *dirMetrics) count(p *decode.Packet, ts time.Time, size uint64, deep bool) {
	d.seen = true
	d.total++
	switch p.L4 {
	case decode.L4UDP:
		d.udp++
	case decode.L4TCP:
		d.tcp++
		if deep && p.TCPFlags&decode.TCPSyn != 0 {
			d.syn++
		}
	default:
		d.otherL4++
	}
	switch p.L3 {
	case decode.L3IPv4:
		d.ipv4++
	case decode.L3IPv6:
		d.ipv6++
	}
	d.pps.Add(ts, 1)
	// pktvisor's "bps" accumulates bytes, not bits; kept for compatibility.
	d.bps.Add(ts, size)
}

type bucketV2 struct {
	base     window.Base
	filtered uint64
	dirs     [3]dirMetrics // indexed by decode.Direction
	clock    window.RateClock
}

func newBucketV2() *bucketV2 {
	b := &bucketV2{base: window.NewBase()}
	rates := []*sketches.Rate{b.base.EventRate}
	for i := range b.dirs {
		b.dirs[i] = newDirMetrics()
		rates = append(rates, b.dirs[i].pps, b.dirs[i].bps)
	}
	b.clock = window.NewRateClock(rates...)
	return b
}

func (b *bucketV2) Merge(o *bucketV2) {
	b.base.Merge(&o.base)
	b.filtered += o.filtered
	for i := range b.dirs {
		b.dirs[i].merge(&o.dirs[i])
	}
}

func (b *bucketV2) Reset() {
	b.base.Reset()
	b.filtered = 0
	for i := range b.dirs {
		b.dirs[i].reset()
	}
	b.clock.Reset()
}

func (b *bucketV2) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucketV2) Close(time.Time)   { b.clock.Close() }

// V2 is the net handler version 2.0.
type V2 struct {
	handler.Windowed[*bucketV2]
	common  handler.Common
	groups  handler.Groups
	filter  geoFilter
	enrich  handler.Enricher
	sampler window.Sampler
	mgr     *window.Manager[*bucketV2]
	kernel  bool // counters come from KernelCounts (kernel.go)
}

var (
	_ handler.Handler        = (*V2)(nil)
	_ handler.PacketConsumer = (*V2)(nil)
)

// NewV2 builds a net v2 handler.
func NewV2(name string, cfg handler.Config, env handler.Env) (handler.Handler, error) {
	c, g, err := handler.ParseModule(name, cfg, configKeys, groupsV2, groupsV2)
	if err != nil {
		return nil, err
	}
	f, err := parseGeoFilter(cfg)
	if err != nil {
		return nil, err
	}
	h := &V2{
		common: c, groups: g, filter: f, enrich: env.Enrich,
		sampler: window.NewSampler(c.SampleRate),
		mgr:     window.New(newBucketV2, c.WindowOptions()),
	}
	h.Windowed = handler.NewWindowed(handler.Module{Type: "net", Version: "2.0", Schema: schemaV2}, c, g, h.mgr)
	return h, nil
}

// HandlePacket accounts one packet in its direction's section.
func (h *V2) HandlePacket(p *decode.Packet) {
	ts := p.Timestamp
	h.mgr.Lock()
	defer h.mgr.Unlock()
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	if !h.filter.pass(p, h.enrich) {
		b.base.NewEvent(ts, h.sampler.Last())
		b.filtered++
		return
	}
	deep := h.sampler.Next()
	d := &b.dirs[p.Dir]
	size := uint64(p.OrigLen)
	if h.kernel {
		// The kernel counted this packet (KernelCounts); only the deep
		// metrics below are computed here.
		if deep {
			b.base.DeepSamples++
		}
	} else {
		b.base.NewEvent(ts, deep)
		d.count(p, ts, size, deep)
	}
	if !deep {
		return
	}
	d.size.Add(float64(size))
	record := func(a netip.Addr) {
		if !a.IsValid() {
			return
		}
		ah := sketches.HashAddr(a)
		d.ips.AddHash(ah)
		d.tops.addIP(a, ah)
		d.tops.addGeo(h.enrich, a)
	}
	switch p.Dir {
	case decode.DirIn:
		record(p.Src)
	case decode.DirOut:
		record(p.Dst)
	default:
		record(p.Src)
		record(p.Dst)
	}
}

var (
	nObserved   = metrics.N(schemaV2, "Total packet events generated", "observed_packets")
	nDeepV2     = metrics.N(schemaV2, "Total packet events that were sampled for deep processing", "deep_sampled_packets")
	nObsRate    = metrics.N(schemaV2, "Rate of all packet events (before filtering)", "rates", "observed_pps")
	nFilteredV2 = metrics.N(schemaV2, "Count of packets that did not pass a filter", "filtered_packets")

	nUDPv2     = metrics.N(schemaV2, "Count of UDP packets", "udp_packets")
	nTCPv2     = metrics.N(schemaV2, "Count of TCP packets", "tcp_packets")
	nOtherv2   = metrics.N(schemaV2, "Count of packets which are not UDP or TCP", "other_l4_packets")
	nIPv4v2    = metrics.N(schemaV2, "Count of IPv4 packets", "ipv4_packets")
	nIPv6v2    = metrics.N(schemaV2, "Count of IPv6 packets", "ipv6_packets")
	nTotalv2   = metrics.N(schemaV2, "Count of all packets that passed the filters", "total_packets")
	nSynv2     = metrics.N(schemaV2, "Count of TCP packets with the SYN flag set", "tcp", "syn_packets")
	nCardIPs   = metrics.N(schemaV2, "Cardinality of unique IP addresses", "cardinality", "ips")
	nTopIPv4v2 = metrics.N(schemaV2, "Top IPv4 addresses", "top_ipv4_packets")
	nTopIPv6v2 = metrics.N(schemaV2, "Top IPv6 addresses", "top_ipv6_packets")
	nTopGeov2  = metrics.N(schemaV2, "Top geo locations of IPs", "top_geo_loc_packets")
	nTopASNv2  = metrics.N(schemaV2, "Top ASNs of IPs", "top_asn_packets")
	nSizev2    = metrics.N(schemaV2, "Quantiles of packet sizes in bytes", "payload_size_bytes")
	nPPSv2     = metrics.N(schemaV2, "Rate of packets per second", "rates", "pps")
	nBPSv2     = metrics.N(schemaV2, "Rate of bytes per second (pktvisor names it bps)", "rates", "bps")
)

func (h *V2) write(b *bucketV2, w metrics.Writer, sp window.Span) {
	live := sp.Live && !h.common.Recorded
	w.Counter(nObserved, b.base.Events)
	w.Counter(nDeepV2, b.base.DeepSamples)
	w.Rate(nObsRate, b.base.EventRate, live)
	if h.groups.On("counters") {
		w.Counter(nFilteredV2, b.filtered)
	}
	for dir := range b.dirs {
		d := &b.dirs[dir]
		if !d.seen {
			continue
		}
		name := decode.Direction(dir).String()
		dw := w.Group(name, "direction", name)
		if h.groups.On("counters") {
			dw.Counter(nUDPv2, d.udp)
			dw.Counter(nTCPv2, d.tcp)
			dw.Counter(nOtherv2, d.otherL4)
			dw.Counter(nIPv4v2, d.ipv4)
			dw.Counter(nIPv6v2, d.ipv6)
			dw.Counter(nTotalv2, d.total)
			dw.Counter(nSynv2, d.syn)
		}
		if h.groups.On("cardinality") {
			dw.Cardinality(nCardIPs, d.ips.Estimate())
		}
		if h.groups.On("top_ips") {
			d.tops.writeIPs(dw, h.common, nTopIPv4v2, nTopIPv6v2)
		}
		if h.groups.On("top_geo") && h.enrich != nil {
			d.tops.writeGeo(dw, h.common, nTopGeov2, nTopASNv2)
		}
		if h.groups.On("quantiles") {
			dw.Quantile(nSizev2, d.size)
			dw.Rate(nPPSv2, d.pps, live)
			dw.Rate(nBPSv2, d.bps, live)
		}
	}
}

// WriteBucket writes bucket p.
func (h *V2) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucketV2, sp window.Span) { h.write(b, w, sp) })
}

// WriteWindow writes the merged window of p buckets.
func (h *V2) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucketV2, sp window.Span) { h.write(b, w, sp) })
}
