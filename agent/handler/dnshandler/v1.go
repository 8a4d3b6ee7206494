package dnshandler

import (
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/decode/dns"
	"github.com/visorng/visor/sketches"
)

const schema = "dns"

var (
	groupsV1        = []string{"cardinality", "counters", "quantiles", "dns_transaction", "top_qnames", "top_ports", "histograms", "top_ecs", "top_qnames_details"}
	defaultGroupsV1 = []string{"cardinality", "counters", "quantiles", "dns_transaction", "top_qnames", "top_ports"}
)

type bucketV1 struct {
	base      window.Base
	rateTotal *sketches.Rate
	clock     window.RateClock

	queries, replies, tcp, udp, ipv4, ipv6 uint64
	noerror, nxdomain, srvfail, refused    uint64
	nodata, total, filtered, queryECS      uint64
	malformed                              uint64

	xactTotal, xactTimedOut, xactIn, xactOut, xactEvicted uint64

	qnames              *sketches.HLL
	inUS, outUS, ratio  *sketches.Quantile
	inHist, outHist     *sketches.Histogram
	slowIn, slowOut     *sketches.StringTopK
	udpPorts            *sketches.TopK[uint16]
	ecs                 ecsTops
	qname2, qname3      *sketches.StringTopK
	nx, refusedQ, srvfQ *sketches.StringTopK
	nodataQ, noerrorQ   *sketches.StringTopK
	respBytes           *sketches.StringTopK
	rcodes, qtypes      *sketches.TopK[uint16]
}

func newBucketV1() *bucketV1 {
	b := &bucketV1{
		base: window.NewBase(), rateTotal: sketches.NewRate(),
		qnames: newHLL(), inUS: newQuantile(), outUS: newQuantile(), ratio: newQuantile(),
		inHist: newLatencyHistogram(), outHist: newLatencyHistogram(),
		slowIn: newStringTop(), slowOut: newStringTop(), udpPorts: newUint16Top(), ecs: newECSTops(),
		qname2: newStringTop(), qname3: newStringTop(), nx: newStringTop(), refusedQ: newStringTop(),
		srvfQ: newStringTop(), nodataQ: newStringTop(), noerrorQ: newStringTop(), respBytes: newStringTop(),
		rcodes: newUint16Top(), qtypes: newUint16Top(),
	}
	b.clock = window.NewRateClock(b.base.EventRate, b.rateTotal)
	return b
}

func (b *bucketV1) strings() []*sketches.StringTopK {
	return []*sketches.StringTopK{b.slowIn, b.slowOut, b.qname2, b.qname3, b.nx, b.refusedQ, b.srvfQ, b.nodataQ, b.noerrorQ, b.respBytes}
}

func (b *bucketV1) Merge(o *bucketV1) {
	b.base.Merge(&o.base)
	_ = b.rateTotal.Merge(o.rateTotal)
	b.queries += o.queries
	b.replies += o.replies
	b.tcp += o.tcp
	b.udp += o.udp
	b.ipv4 += o.ipv4
	b.ipv6 += o.ipv6
	b.noerror += o.noerror
	b.nxdomain += o.nxdomain
	b.srvfail += o.srvfail
	b.refused += o.refused
	b.nodata += o.nodata
	b.total += o.total
	b.filtered += o.filtered
	b.queryECS += o.queryECS
	b.malformed += o.malformed
	b.xactTotal += o.xactTotal
	b.xactTimedOut += o.xactTimedOut
	b.xactIn += o.xactIn
	b.xactOut += o.xactOut
	b.xactEvicted += o.xactEvicted
	_ = b.qnames.Merge(o.qnames)
	_ = b.inUS.Merge(o.inUS)
	_ = b.outUS.Merge(o.outUS)
	_ = b.ratio.Merge(o.ratio)
	_ = b.inHist.Merge(o.inHist)
	_ = b.outHist.Merge(o.outHist)
	os := o.strings()
	for i, t := range b.strings() {
		t.Merge(os[i])
	}
	b.udpPorts.Merge(o.udpPorts)
	b.ecs.merge(&o.ecs)
	b.rcodes.Merge(o.rcodes)
	b.qtypes.Merge(o.qtypes)
}

func (b *bucketV1) Reset() {
	b.base.Reset()
	b.clock.Reset()
	b.queries, b.replies, b.tcp, b.udp, b.ipv4, b.ipv6 = 0, 0, 0, 0, 0, 0
	b.noerror, b.nxdomain, b.srvfail, b.refused = 0, 0, 0, 0
	b.nodata, b.total, b.filtered, b.queryECS, b.malformed = 0, 0, 0, 0, 0
	b.xactTotal, b.xactTimedOut, b.xactIn, b.xactOut, b.xactEvicted = 0, 0, 0, 0, 0
	b.qnames.Reset()
	b.inUS.Reset()
	b.outUS.Reset()
	b.ratio.Reset()
	b.inHist.Reset()
	b.outHist.Reset()
	for _, t := range b.strings() {
		t.Reset()
	}
	b.udpPorts.Reset()
	b.ecs.reset()
	b.rcodes.Reset()
	b.qtypes.Reset()
}

func (b *bucketV1) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucketV1) Close(time.Time)   { b.clock.Close() }

// V1 is the dns handler version 1.0 (schema "dns").
type V1 struct {
	handler.Windowed[*bucketV1]
	common  handler.Common
	groups  handler.Groups
	set     *settings
	enrich  handler.Enricher
	sampler window.Sampler
	mgr     *window.Manager[*bucketV1]

	// Groups the per-packet path consults, looked up once.
	xactOn, ecsOn bool
	xact          *xactTable
	tcp           *tcpStreams
	now           func() time.Time

	// p90 latencies of the last closed bucket: the "slow" thresholds.
	in90, out90 float64

	msg dns.Message // scratch, used under the manager's lock
	ev  event
	// passMsg is Pass's own scratch, so a chain's filter check never
	// disturbs the message being accounted.
	passMsg dns.Message
}

var (
	_ handler.Handler        = (*V1)(nil)
	_ handler.PacketConsumer = (*V1)(nil)
	_ handler.TCPConsumer    = (*V1)(nil)
	_ handler.DnstapConsumer = (*V1)(nil)
	_ handler.Ticker         = (*V1)(nil)
	_ handler.Bounded        = (*V1)(nil)
)

// NewV1 builds a dns v1 handler.
func NewV1(name string, cfg handler.Config, env handler.Env) (handler.Handler, error) {
	c, g, err := handler.ParseModule(name, cfg, configKeysV1, groupsV1, defaultGroupsV1)
	if err != nil {
		return nil, err
	}
	s, err := parseSettings(cfg, false)
	if err != nil {
		return nil, err
	}
	h := &V1{
		common: c, groups: g, set: s, enrich: env.Enrich,
		sampler: window.NewSampler(c.SampleRate),
		mgr:     window.New(newBucketV1, c.WindowOptions()),
		xact:    newXactTable(s.maxOpenXact, s.xactTTL),
		now:     time.Now,
	}
	h.xactOn, h.ecsOn = g.On("dns_transaction"), g.On("top_ecs")
	h.tcp = newTCPStreams(h.tcpMessage)
	h.mgr.OnShift(h.onShift)
	h.Windowed = handler.NewWindowed(handler.Module{Type: "dns", Version: "1.0", Schema: schema}, c, g, h.mgr)
	return h, nil
}

// OpenTransactions reports the queries waiting for a reply.
func (h *V1) OpenTransactions() int {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	return h.xact.open()
}

// onShift runs under the manager's lock when a bucket closes: expired
// queries become timeouts of the new bucket and the closed bucket's p90
// latencies become the slow thresholds.
func (h *V1) onShift(closed, live *bucketV1, ts time.Time) {
	live.xactTimedOut += uint64(h.xact.purge(ts.UnixNano()))
	if !closed.inUS.Empty() {
		h.in90 = closed.inUS.Quantile(0.9)
	}
	if !closed.outUS.Empty() {
		h.out90 = closed.outUS.Quantile(0.9)
	}
}

// HandlePacket accounts a UDP DNS packet; TCP arrives through TCPData.
func (h *V1) HandlePacket(p *decode.Packet) {
	if p.L4 != decode.L4UDP {
		return
	}
	port, ok := h.set.ports.metricPort(p.SrcPort, p.DstPort)
	if !ok {
		return
	}
	h.mgr.Lock()
	defer h.mgr.Unlock()
	ev := &h.ev
	*ev = event{ts: p.Timestamp, dir: p.Dir, l3: p.L3, l4: trUDP, port: port, size: len(p.Payload), msg: &h.msg}
	ev.flow = p.FlowHash()
	h.processWire(ev, p.Payload)
}

// WantTCP selects connections with a DNS port.
func (h *V1) WantTCP(src, dst uint16) bool { return h.set.ports.either(src, dst) }

// TCPData frames DNS messages out of a reassembled stream.
func (h *V1) TCPData(d *handler.TCPData) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	h.tcp.data(d)
}

// TCPClose forgets a connection's partial messages.
func (h *V1) TCPClose(conn uint64, _ time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	h.tcp.close(conn)
}

func (h *V1) tcpMessage(d *handler.TCPData, msg []byte) {
	port, ok := h.set.ports.metricPort(d.SrcPort, d.DstPort)
	if !ok {
		return
	}
	ev := &h.ev
	*ev = event{ts: d.Timestamp, dir: d.Dir, l3: d.L3, l4: trTCP, flow: d.FlowHash, port: port, size: len(msg), msg: &h.msg}
	h.processWire(ev, msg)
}

// processWire parses a message from the wire and processes it. Messages
// shorter than a DNS header are not DNS: they are counted as malformed
// only. A message that fails to parse later still counts by its header,
// as pktvisor's does; the deep metrics use what was decoded.
func (h *V1) processWire(ev *event, wire []byte) {
	err := dns.Parse(wire, ev.msg)
	if len(wire) < 12 {
		b := h.mgr.Live(ev.ts)
		b.clock.Advance(ev.ts)
		b.malformed++
		return
	}
	ev.parsed = true
	ev.query = !ev.msg.QR
	h.process(ev, err != nil)
}

// HandleDnstap accounts one dnstap message. v1 does not pair dnstap
// messages into transactions (pktvisor does not either).
func (h *V1) HandleDnstap(m *handler.DnstapMessage) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	ev := &h.ev
	*ev = event{ts: dnstapTime(m, h.now), l3: m.Family, l4: dnstapTransport(m.Protocol), port: m.QueryPort,
		msg: &h.msg, dnstap: true, dnstapType: m.Type, query: !m.Type.IsResponse()}
	wire := m.QueryMessage
	if m.Type.IsResponse() {
		wire = m.ResponseMessage
	}
	malformed := false
	if len(wire) >= 12 {
		malformed = dns.Parse(wire, ev.msg) != nil
		ev.parsed = true
		ev.size = len(wire)
	} else if len(wire) > 0 {
		malformed = true
	}
	h.process(ev, malformed)
}

// pass applies the filters in pktvisor's order; the first failing one
// filters the message.
func (h *V1) pass(ev *event) verdict {
	s := h.set
	v := verdict{pass: true}
	if s.dnstapTypes != 0 && ev.dnstap && s.dnstapTypes&(1<<ev.dnstapType) == 0 {
		return verdict{}
	}
	if !ev.parsed {
		// A dnstap frame without a message can only be counted.
		if len(s.excludeRcodes)+len(s.onlyRcodes)+len(s.onlyQtypes)+len(s.onlyQnames)+len(s.qnameSuffixes) > 0 ||
			s.answerCount >= 0 || s.onlyDNSSEC || s.geoNotFound || s.asnNotFound ||
			(s.onlyQueries && !ev.query) || (s.onlyResponses && ev.query) {
			return verdict{}
		}
		return v
	}
	m := ev.msg
	switch {
	case len(s.excludeRcodes) > 0 && hasUint8(s.excludeRcodes, m.Rcode):
		return verdict{}
	case len(s.onlyRcodes) > 0 && (!m.QR || !hasUint8(s.onlyRcodes, m.Rcode)):
		return verdict{}
	case s.answerCount >= 0 && m.Answers != s.answerCount:
		return verdict{}
	case s.onlyQueries && m.QR:
		return verdict{}
	case s.onlyResponses && !m.QR:
		return verdict{}
	case s.onlyDNSSEC && (!m.QR || m.Answers == 0 || !m.HasRRSIG):
		return verdict{}
	case len(s.onlyQtypes) > 0 && (!m.HasQuestion || !hasUint16(s.onlyQtypes, m.QType)):
		return verdict{}
	case len(s.onlyQnames) > 0 && (!m.HasQuestion || !s.qnameListed(m.QNameBytes())):
		return verdict{}
	}
	if len(s.qnameSuffixes) > 0 {
		if !m.HasQuestion {
			return verdict{}
		}
		n := s.suffixMatch(m.QNameBytes())
		if n < 0 {
			return verdict{}
		}
		v.suffixLen = n
	}
	if s.geoNotFound && (m.QR || !ecsUnknown(h.enrich, m, false)) {
		return verdict{}
	}
	if s.asnNotFound && (m.QR || !ecsUnknown(h.enrich, m, true)) {
		return verdict{}
	}
	if v.suffixLen == 0 && s.psl != nil && m.HasQuestion {
		v.suffixLen = s.psl.SuffixLen(m.QNameBytes())
	}
	return v
}

func (h *V1) process(ev *event, malformed bool) {
	ts := ev.ts
	sec := ts.Unix() // one conversion for the window and every rate
	b := h.mgr.LiveUnix(ts, sec)
	b.clock.AdvanceUnix(sec, ts)
	if malformed {
		b.malformed++
	}
	v := h.pass(ev)
	if !v.pass {
		b.base.NewEventUnix(sec, h.sampler.Last())
		b.filtered++
		return
	}
	deep := h.sampler.Next()
	b.base.NewEventUnix(sec, deep)
	b.rateTotal.AddUnix(sec, 1)
	b.total++
	switch ev.l3 {
	case decode.L3IPv4:
		b.ipv4++
	case decode.L3IPv6:
		b.ipv6++
	}
	switch ev.l4 {
	case trUDP:
		b.udp++
	case trTCP:
		b.tcp++
	}
	m := ev.msg
	if !ev.parsed {
		if ev.query {
			b.queries++
		} else {
			b.replies++
		}
		return
	}
	if m.QR {
		b.replies++
		switch m.Rcode {
		case 0:
			b.noerror++
			if m.Answers == 0 {
				b.nodata++
			}
		case 2:
			b.srvfail++
		case 3:
			b.nxdomain++
		case 5:
			b.refused++
		}
	} else {
		b.queries++
	}

	if deep {
		h.deep(b, ev, v.suffixLen)
	}
	if !ev.dnstap && h.xactOn {
		h.transaction(b, ev, deep)
	}
}

func (h *V1) deep(b *bucketV1, ev *event, suffixLen int) {
	m := ev.msg
	if ev.port != 0 {
		b.udpPorts.Add(ev.port)
	}
	if m.QR {
		b.rcodes.Add(uint16(m.Rcode))
	}
	if m.HasQuestion {
		// The full name feeds up to four sketches: hash it once.
		name := m.QNameBytes()
		nh := sketches.HashBytes(name)
		b.qnames.AddHash(nh)
		b.qtypes.Add(m.QType)
		if m.QR {
			switch m.Rcode {
			case 2:
				b.srvfQ.AddBytesHashed(nh, name, 1)
			case 3:
				b.nx.AddBytesHashed(nh, name, 1)
			case 5:
				b.refusedQ.AddBytesHashed(nh, name, 1)
			case 0:
				b.noerrorQ.AddBytesHashed(nh, name, 1)
				if m.Answers == 0 {
					b.nodataQ.AddBytesHashed(nh, name, 1)
				}
			}
			b.respBytes.AddBytesHashed(nh, name, uint64(ev.size))
		}
		q2, q3 := dns.AggregateDomain(name, suffixLen)
		b.qname2.AddBytes(q2, 1)
		if len(q3) > 0 {
			b.qname3.AddBytes(q3, 1)
		}
	}
	if a := ecsAddr(m); a.IsValid() && h.ecsOn {
		b.queryECS++
		b.ecs.add(h.enrich, a)
	}
}

func (h *V1) transaction(b *bucketV1, ev *event, deep bool) {
	m := ev.msg
	key := xactKey{flow: ev.flow, id: m.ID}
	ts := ev.ts.UnixNano()
	if !m.QR {
		if h.xact.start(key, xactEntry{start: ts, size: uint32(ev.size)}) {
			b.xactEvicted++
		}
		return
	}
	e, res := h.xact.end(key, ts)
	switch res {
	case xactTimedOut:
		b.xactTimedOut++
		return
	case xactNotFound:
		return
	}
	us := float64((ts - e.start) / 1000)
	b.xactTotal++
	// The reply's direction decides: a reply toward the host means the host
	// asked (out); a reply from the host means it answered (in).
	switch ev.dir {
	case decode.DirIn:
		b.xactOut++
		if deep {
			b.outUS.Add(us)
			b.outHist.Add(us)
		}
	case decode.DirOut:
		b.xactIn++
		if deep {
			b.inUS.Add(us)
			b.inHist.Add(us)
		}
	}
	if !deep {
		return
	}
	if e.size > 0 {
		b.ratio.Add(float64(ev.size) / float64(e.size))
	}
	if m.HasQuestion {
		switch {
		case ev.dir == decode.DirIn && h.out90 > 0 && us >= h.out90:
			b.slowOut.AddBytes(m.QNameBytes(), 1)
		case ev.dir == decode.DirOut && h.in90 > 0 && us >= h.in90:
			b.slowIn.AddBytes(m.QNameBytes(), 1)
		}
	}
}

func n(help string, path ...string) metrics.Name { return metrics.N(schema, help, path...) }

var (
	nRateTotal   = n("DNS messages per second that passed the filters, both directions", "rates", "total")
	nRateEvents  = n("DNS messages per second before any filter", "rates", "events")
	nEvents      = n("DNS messages seen, filtered ones included", "wire_packets", "events")
	nDeep        = n("DNS messages chosen for deep analysis (top lists, cardinality, quantiles)", "wire_packets", "deep_samples")
	nQueries     = n("DNS queries (QR bit clear), both directions", "wire_packets", "queries")
	nReplies     = n("DNS responses (QR bit set), both directions", "wire_packets", "replies")
	nTCP         = n("DNS messages carried over TCP", "wire_packets", "tcp")
	nUDP         = n("DNS messages carried over UDP", "wire_packets", "udp")
	nIPv4        = n("DNS messages carried over IPv4", "wire_packets", "ipv4")
	nIPv6        = n("DNS messages carried over IPv6", "wire_packets", "ipv6")
	nNX          = n("DNS responses with rcode NXDOMAIN", "wire_packets", "nxdomain")
	nRefused     = n("DNS responses with rcode REFUSED", "wire_packets", "refused")
	nSrvfail     = n("DNS responses with rcode SERVFAIL", "wire_packets", "srvfail")
	nNoerror     = n("DNS responses with rcode NOERROR", "wire_packets", "noerror")
	nNodata      = n("DNS responses with rcode NOERROR and an empty answer section (NODATA)", "wire_packets", "nodata")
	nTotal       = n("DNS messages that passed the filters", "wire_packets", "total")
	nFiltered    = n("DNS messages rejected by a filter", "wire_packets", "filtered")
	nQueryECS    = n("DNS queries carrying an EDNS Client Subnet option", "wire_packets", "query_ecs")
	nMalformed   = n("Total DNS messages that failed to parse (counted by their header when one was present)", "wire_packets", "malformed")
	nCardQname   = n("Estimated number of distinct query names", "cardinality", "qname")
	nXactTotal   = n("Total DNS transactions (query/reply pairs)", "xact", "counts", "total")
	nXactTimeout = n("Total number of DNS transactions that timed out", "xact", "counts", "timed_out")
	nXactEvicted = n("Total open DNS transactions dropped because the transaction table was full", "xact", "counts", "evicted")
	nXactIn      = n("Total ingress DNS transactions (host is server)", "xact", "in", "total")
	nXactOut     = n("Total egress DNS transactions (host is client)", "xact", "out", "total")
	nInUS        = n("Quantiles of transaction timing (query/reply pairs) when host is server, in microseconds", "xact", "in", "quantiles_us")
	nOutUS       = n("Quantiles of transaction timing (query/reply pairs) when host is client, in microseconds", "xact", "out", "quantiles_us")
	nInHist      = n("Histogram of transaction timing when host is server, in microseconds", "xact", "in", "histogram_us")
	nOutHist     = n("Histogram of transaction timing when host is client, in microseconds", "xact", "out", "histogram_us")
	nSlowIn      = n("Query names of transactions answered by this host more slowly than the previous period's p90", "xact", "in", "top_slow")
	nSlowOut     = n("Query names of transactions this host sent that took longer than the previous period's p90", "xact", "out", "top_slow")
	nRatio       = floatName(n("Quantiles of ratio of packet sizes in a DNS transaction (reply/query)", "xact", "ratio", "quantiles"))
	nUDPPorts    = n("Top UDP source port on the query side of a transaction", "top_udp_ports")
	nQueryECS2   = n("Top EDNS Client Subnet (ECS) observed in DNS queries", "top_query_ecs")
	nGeoECS      = n("Top GeoIP ECS locations", "top_geoLoc_ecs")
	nASNECS      = n("Top ASNs by ECS", "top_asn_ecs")
	nQname2      = n("Top QNAMES, aggregated at a depth of two labels", "top_qname2")
	nQname3      = n("Top QNAMES, aggregated at a depth of three labels", "top_qname3")
	nTopNX       = n("Top QNAMES with result code NXDOMAIN", "top_nxdomain")
	nTopRefused  = n("Top QNAMES with result code REFUSED", "top_refused")
	nTopSrvfail  = n("Top QNAMES with result code SRVFAIL", "top_srvfail")
	nTopNodata   = n("Top QNAMES with result code NOERROR and no answers section", "top_nodata")
	nTopNoerror  = n("Top QNAMES with result code NOERROR", "top_noerror")
	nTopSized    = n("Top QNAMES by response volume in bytes", "top_qname_by_resp_bytes")
	nTopRcode    = n("Top result codes", "top_rcode")
	nTopQtype    = n("Top query types", "top_qtype")
)

func floatName(x metrics.Name) metrics.Name { x.Float = true; return x }

func (h *V1) write(b *bucketV1, w metrics.Writer, sp window.Span) {
	live := sp.Live && !h.common.Recorded
	g := h.groups
	c := h.common
	w.Rate(nRateTotal, b.rateTotal, live)
	w.Rate(nRateEvents, b.base.EventRate, live)
	w.Counter(nEvents, b.base.Events)
	w.Counter(nDeep, b.base.DeepSamples)
	if g.On("counters") {
		w.Counter(nQueries, b.queries)
		w.Counter(nReplies, b.replies)
		w.Counter(nTCP, b.tcp)
		w.Counter(nUDP, b.udp)
		w.Counter(nIPv4, b.ipv4)
		w.Counter(nIPv6, b.ipv6)
		w.Counter(nNX, b.nxdomain)
		w.Counter(nRefused, b.refused)
		w.Counter(nSrvfail, b.srvfail)
		w.Counter(nNoerror, b.noerror)
		w.Counter(nNodata, b.nodata)
		w.Counter(nTotal, b.total)
		w.Counter(nFiltered, b.filtered)
		w.Counter(nMalformed, b.malformed)
	}
	if g.On("cardinality") {
		w.Cardinality(nCardQname, b.qnames.Estimate())
	}
	if g.On("dns_transaction") {
		w.Counter(nXactTotal, b.xactTotal)
		w.Counter(nXactTimeout, b.xactTimedOut)
		w.Counter(nXactEvicted, b.xactEvicted)
		w.Counter(nXactIn, b.xactIn)
		w.Counter(nXactOut, b.xactOut)
		writeStrings(w, c, nSlowIn, "qname", b.slowIn)
		writeStrings(w, c, nSlowOut, "qname", b.slowOut)
		if g.On("quantiles") {
			w.Quantile(nInUS, b.inUS)
			w.Quantile(nOutUS, b.outUS)
			w.Quantile(nRatio, b.ratio)
		}
		if g.On("histograms") {
			w.Histogram(nInHist, b.inHist)
			w.Histogram(nOutHist, b.outHist)
		}
	}
	if g.On("top_ports") {
		w.TopN(nUDPPorts, "port", handler.Rows(c, b.udpPorts.Top(c.TopN, nil), portName))
	}
	if g.On("top_ecs") {
		if g.On("counters") {
			w.Counter(nQueryECS, b.queryECS)
		}
		b.ecs.write(w, c, nQueryECS2, nGeoECS, nASNECS)
	}
	if g.On("top_qnames") {
		writeStrings(w, c, nQname2, "qname", b.qname2)
		writeStrings(w, c, nQname3, "qname", b.qname3)
		writeStrings(w, c, nTopNX, "qname", b.nx)
		writeStrings(w, c, nTopRefused, "qname", b.refusedQ)
		writeStrings(w, c, nTopSrvfail, "qname", b.srvfQ)
		writeStrings(w, c, nTopNodata, "qname", b.nodataQ)
		if g.On("top_qnames_details") {
			writeStrings(w, c, nTopSized, "qname", b.respBytes)
			writeStrings(w, c, nTopNoerror, "qname", b.noerrorQ)
		}
	}
	w.TopN(nTopRcode, "rcode", handler.Rows(c, b.rcodes.Top(c.TopN, nil), rcodeLabel))
	w.TopN(nTopQtype, "qtype", handler.Rows(c, b.qtypes.Top(c.TopN, nil), qtypeName))
}

// WriteBucket writes bucket p.
func (h *V1) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucketV1, sp window.Span) { h.write(b, w, sp) })
}

// WriteWindow writes the merged window of p buckets.
func (h *V1) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucketV1, sp window.Span) { h.write(b, w, sp) })
}
