// Package nethandler implements pktvisor's net handler: packet counters,
// rates, sizes, remote-address cardinality and top-N, in version 1 (schema
// "packets") and version 2 (schema "net", split by direction).
package nethandler

import (
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/sketches"
)

const schemaV1 = "packets"

var groupsV1 = []string{"counters", "cardinality", "top_geo", "top_ips"}

type bucketV1 struct {
	base window.Base

	udp, tcp, otherL4, ipv4, ipv6 uint64
	in, out, unknownDir           uint64
	total, filtered, tcpSyn       uint64

	ppsIn, ppsOut, ppsTotal       *sketches.Rate
	bytesIn, bytesOut, bytesTotal *sketches.Rate

	srcIPsIn, dstIPsOut *sketches.HLL
	tops                ipTops
	payloadSize         *sketches.Quantile

	clock window.RateClock
}

func newBucketV1() *bucketV1 {
	in, _ := sketches.NewHLL(hllPrecision)
	out, _ := sketches.NewHLL(hllPrecision)
	q, _ := sketches.NewQuantile(0.01)
	b := &bucketV1{
		base:  window.NewBase(),
		ppsIn: sketches.NewRate(), ppsOut: sketches.NewRate(), ppsTotal: sketches.NewRate(),
		bytesIn: sketches.NewRate(), bytesOut: sketches.NewRate(), bytesTotal: sketches.NewRate(),
		srcIPsIn: in, dstIPsOut: out, tops: newIPTops(), payloadSize: q,
	}
	b.clock = window.NewRateClock(b.base.EventRate, b.ppsIn, b.ppsOut, b.ppsTotal, b.bytesIn, b.bytesOut, b.bytesTotal)
	return b
}

func (b *bucketV1) rates() []*sketches.Rate { return b.clock.Rates() }

func (b *bucketV1) Merge(o *bucketV1) {
	b.base.Merge(&o.base)
	b.udp += o.udp
	b.tcp += o.tcp
	b.otherL4 += o.otherL4
	b.ipv4 += o.ipv4
	b.ipv6 += o.ipv6
	b.in += o.in
	b.out += o.out
	b.unknownDir += o.unknownDir
	b.total += o.total
	b.filtered += o.filtered
	b.tcpSyn += o.tcpSyn
	or := o.rates()
	for i, r := range b.rates()[1:] {
		_ = r.Merge(or[i+1])
	}
	_ = b.srcIPsIn.Merge(o.srcIPsIn)
	_ = b.dstIPsOut.Merge(o.dstIPsOut)
	b.tops.merge(&o.tops)
	_ = b.payloadSize.Merge(o.payloadSize)
}

func (b *bucketV1) Reset() {
	b.base.Reset()
	b.udp, b.tcp, b.otherL4, b.ipv4, b.ipv6 = 0, 0, 0, 0, 0
	b.in, b.out, b.unknownDir = 0, 0, 0
	b.total, b.filtered, b.tcpSyn = 0, 0, 0
	b.clock.Reset()
	b.srcIPsIn.Reset()
	b.dstIPsOut.Reset()
	b.tops.reset()
	b.payloadSize.Reset()
}

func (b *bucketV1) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucketV1) Close(time.Time)   { b.clock.Close() }

// V1 is the net handler version 1.0.
type V1 struct {
	handler.Windowed[*bucketV1]
	common  handler.Common
	groups  handler.Groups
	filter  geoFilter
	enrich  handler.Enricher
	sampler window.Sampler
	mgr     *window.Manager[*bucketV1]
	kernel  bool // counters come from KernelCounts (kernel.go)
}

var (
	_ handler.Handler        = (*V1)(nil)
	_ handler.PacketConsumer = (*V1)(nil)
	_ handler.Ticker         = (*V1)(nil)
	_ handler.Bounded        = (*V1)(nil)
)

// NewV1 builds a net v1 handler.
func NewV1(name string, cfg handler.Config, env handler.Env) (handler.Handler, error) {
	c, g, err := handler.ParseModule(name, cfg, configKeys, groupsV1, groupsV1)
	if err != nil {
		return nil, err
	}
	f, err := parseGeoFilter(cfg)
	if err != nil {
		return nil, err
	}
	h := &V1{
		common: c, groups: g, filter: f, enrich: env.Enrich,
		sampler: window.NewSampler(c.SampleRate),
		mgr:     window.New(newBucketV1, c.WindowOptions()),
	}
	h.Windowed = handler.NewWindowed(handler.Module{Type: "net", Version: "1.0", Schema: schemaV1}, c, g, h.mgr)
	return h, nil
}

// HandlePacket accounts one packet.
func (h *V1) HandlePacket(p *decode.Packet) {
	ts := p.Timestamp
	sec := ts.Unix() // one conversion for the window and every rate
	h.mgr.Lock()
	defer h.mgr.Unlock()
	b := h.mgr.LiveUnix(ts, sec)
	b.clock.AdvanceUnix(sec, ts)
	if !h.filter.pass(p, h.enrich) {
		// pktvisor reuses the previous sampling decision for filtered events.
		b.base.NewEventUnix(sec, h.sampler.Last())
		b.filtered++
		return
	}
	deep := h.sampler.Next()
	size := uint64(p.OrigLen)
	if h.kernel {
		// The kernel counted this packet (KernelCounts); only the deep
		// metrics below are computed here.
		if deep {
			b.base.DeepSamples++
		}
	} else {
		b.base.NewEventUnix(sec, deep)
		h.count(b, p, sec, size, deep)
	}
	if !deep {
		return
	}
	b.payloadSize.Add(float64(size))
	switch p.Dir {
	case decode.DirIn:
		ah := sketches.HashAddr(p.Src)
		b.srcIPsIn.AddHash(ah)
		b.tops.addIP(p.Src, ah)
		b.tops.addGeo(h.enrich, p.Src)
	case decode.DirOut:
		ah := sketches.HashAddr(p.Dst)
		b.dstIPsOut.AddHash(ah)
		b.tops.addIP(p.Dst, ah)
		b.tops.addGeo(h.enrich, p.Dst)
	}
}

// count updates the counters and rates for one packet.
func (h *V1) count(b *bucketV1, p *decode.Packet, sec int64, size uint64, deep bool) {
	b.total++
	switch p.L4 {
	case decode.L4UDP:
		b.udp++
	case decode.L4TCP:
		b.tcp++
		if deep && p.TCPFlags&decode.TCPSyn != 0 {
			b.tcpSyn++
		}
	default:
		b.otherL4++
	}
	switch p.L3 {
	case decode.L3IPv4:
		b.ipv4++
	case decode.L3IPv6:
		b.ipv6++
	}
	b.ppsTotal.AddUnix(sec, 1)
	b.bytesTotal.AddUnix(sec, size)
	switch p.Dir {
	case decode.DirIn:
		b.in++
		b.ppsIn.AddUnix(sec, 1)
		b.bytesIn.AddUnix(sec, size)
	case decode.DirOut:
		b.out++
		b.ppsOut.AddUnix(sec, 1)
		b.bytesOut.AddUnix(sec, size)
	default:
		b.unknownDir++
	}
}

var (
	nEventsV1     = metrics.N(schemaV1, "Total packet events generated", "events")
	nDeepV1       = metrics.N(schemaV1, "Total packet events that were sampled for deep processing", "deep_samples")
	nRateEventsV1 = metrics.N(schemaV1, "Rate of all packet events (before filtering)", "rates", "pps_events")
	nUDP          = metrics.N(schemaV1, "Count of UDP packets", "udp")
	nTCP          = metrics.N(schemaV1, "Count of TCP packets", "tcp")
	nOtherL4      = metrics.N(schemaV1, "Count of packets which are not UDP or TCP", "other_l4")
	nIPv4         = metrics.N(schemaV1, "Count of IPv4 packets", "ipv4")
	nIPv6         = metrics.N(schemaV1, "Count of IPv6 packets", "ipv6")
	nIn           = metrics.N(schemaV1, "Count of packets inbound to the host", "in")
	nOut          = metrics.N(schemaV1, "Count of packets outbound from the host", "out")
	nUnknownDir   = metrics.N(schemaV1, "Count of packets whose direction is unknown", "unknown_dir")
	nTotal        = metrics.N(schemaV1, "Count of all packets that passed the filters", "total")
	nFiltered     = metrics.N(schemaV1, "Count of packets that did not pass a filter", "filtered")
	nSyn          = metrics.N(schemaV1, "Count of TCP packets with the SYN flag set", "protocol", "tcp", "syn")
	nCardSrcIn    = metrics.N(schemaV1, "Cardinality of unique source IPs of inbound packets", "cardinality", "src_ips_in")
	nCardDstOut   = metrics.N(schemaV1, "Cardinality of unique destination IPs of outbound packets", "cardinality", "dst_ips_out")
	nTopIPv4      = metrics.N(schemaV1, "Top remote IPv4 addresses", "top_ipv4")
	nTopIPv6      = metrics.N(schemaV1, "Top remote IPv6 addresses", "top_ipv6")
	nTopGeo       = metrics.N(schemaV1, "Top geo locations of remote IPs", "top_geoLoc")
	nTopASN       = metrics.N(schemaV1, "Top ASNs of remote IPs", "top_ASN")
	nPayloadSize  = metrics.N(schemaV1, "Quantiles of packet sizes in bytes", "payload_size")
	nPPSIn        = metrics.N(schemaV1, "Rate of inbound packets per second", "rates", "pps_in")
	nPPSOut       = metrics.N(schemaV1, "Rate of outbound packets per second", "rates", "pps_out")
	nPPSTotal     = metrics.N(schemaV1, "Rate of all packets per second", "rates", "pps_total")
	nBytesInV1    = payload("Rate of inbound bytes per second", "bytes_in")
	nBytesOutV1   = payload("Rate of outbound bytes per second", "bytes_out")
	nBytesTotalV1 = payload("Rate of all bytes per second", "bytes_total")
)

// payload names keep pktvisor's quirk: v1 byte rates use the "payload"
// Prometheus prefix while living under "rates" in JSON.
func payload(help, leaf string) metrics.Name {
	n := metrics.N("payload", help, "rates", leaf)
	return n
}

func (h *V1) write(b *bucketV1, w metrics.Writer, sp window.Span) {
	live := sp.Live && !h.common.Recorded
	w.Counter(nEventsV1, b.base.Events)
	w.Counter(nDeepV1, b.base.DeepSamples)
	w.Rate(nRateEventsV1, b.base.EventRate, live)
	w.Rate(nPPSIn, b.ppsIn, live)
	w.Rate(nPPSOut, b.ppsOut, live)
	w.Rate(nPPSTotal, b.ppsTotal, live)
	w.Rate(nBytesInV1, b.bytesIn, live)
	w.Rate(nBytesOutV1, b.bytesOut, live)
	w.Rate(nBytesTotalV1, b.bytesTotal, live)
	w.Quantile(nPayloadSize, b.payloadSize)
	if h.groups.On("counters") {
		w.Counter(nUDP, b.udp)
		w.Counter(nTCP, b.tcp)
		w.Counter(nOtherL4, b.otherL4)
		w.Counter(nIPv4, b.ipv4)
		w.Counter(nIPv6, b.ipv6)
		w.Counter(nIn, b.in)
		w.Counter(nOut, b.out)
		w.Counter(nUnknownDir, b.unknownDir)
		w.Counter(nTotal, b.total)
		w.Counter(nFiltered, b.filtered)
		w.Counter(nSyn, b.tcpSyn)
	}
	if h.groups.On("cardinality") {
		w.Cardinality(nCardSrcIn, b.srcIPsIn.Estimate())
		w.Cardinality(nCardDstOut, b.dstIPsOut.Estimate())
	}
	if h.groups.On("top_ips") {
		b.tops.writeIPs(w, h.common, nTopIPv4, nTopIPv6)
	}
	if h.groups.On("top_geo") && h.enrich != nil {
		b.tops.writeGeo(w, h.common, nTopGeo, nTopASN)
	}
}

// WriteBucket writes bucket p.
func (h *V1) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucketV1, sp window.Span) { h.write(b, w, sp) })
}

// WriteWindow writes the merged window of p buckets.
func (h *V1) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucketV1, sp window.Span) { h.write(b, w, sp) })
}
