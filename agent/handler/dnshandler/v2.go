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

var (
	groupsV2        = []string{"cardinality", "counters", "quantiles", "top_qnames", "top_rcodes", "top_qtypes", "top_ecs", "top_size", "top_ports", "xact_times"}
	defaultGroupsV2 = []string{"cardinality", "counters", "quantiles", "top_qnames", "top_rcodes", "top_qtypes"}
)

// dirV2 is one transaction direction's section.
type dirV2 struct {
	seen bool

	xacts, udp, tcp, dot, doh, cryptUDP, cryptTCP, doq uint64
	ipv4, ipv6                                         uint64
	noerror, nxdomain, srvfail, refused, nodata        uint64
	ecs, authData, authAnswer, checkDisabled           uint64
	timeouts, orphans, evicted                         uint64

	rate   *sketches.Rate
	qnames *sketches.HLL

	qname2, qname3                       *sketches.StringTopK
	nx, refusedQ, srvfQ, nodataQ, noerrQ *sketches.StringTopK
	rcodes, qtypes, ports                *sketches.TopK[uint16]
	respBytes                            *sketches.StringTopK
	ratio, timeUS                        *sketches.Quantile
	hist                                 *sketches.Histogram
	slow                                 *sketches.StringTopK
	ecsTop                               ecsTops
}

func newDirV2() dirV2 {
	return dirV2{
		rate: sketches.NewRate(), qnames: newHLL(),
		qname2: newStringTop(), qname3: newStringTop(), nx: newStringTop(), refusedQ: newStringTop(),
		srvfQ: newStringTop(), nodataQ: newStringTop(), noerrQ: newStringTop(),
		rcodes: newUint16Top(), qtypes: newUint16Top(), ports: newUint16Top(),
		respBytes: newStringTop(), ratio: newQuantile(), timeUS: newQuantile(), hist: newLatencyHistogram(),
		slow: newStringTop(), ecsTop: newECSTops(),
	}
}

func (d *dirV2) strings() []*sketches.StringTopK {
	return []*sketches.StringTopK{d.qname2, d.qname3, d.nx, d.refusedQ, d.srvfQ, d.nodataQ, d.noerrQ, d.respBytes, d.slow}
}

func (d *dirV2) counters() []*uint64 {
	return []*uint64{&d.xacts, &d.udp, &d.tcp, &d.dot, &d.doh, &d.cryptUDP, &d.cryptTCP, &d.doq, &d.ipv4, &d.ipv6,
		&d.noerror, &d.nxdomain, &d.srvfail, &d.refused, &d.nodata, &d.ecs, &d.authData, &d.authAnswer,
		&d.checkDisabled, &d.timeouts, &d.orphans, &d.evicted}
}

func (d *dirV2) merge(o *dirV2) {
	d.seen = d.seen || o.seen
	oc := o.counters()
	for i, c := range d.counters() {
		*c += *oc[i]
	}
	_ = d.rate.Merge(o.rate)
	_ = d.qnames.Merge(o.qnames)
	os := o.strings()
	for i, t := range d.strings() {
		t.Merge(os[i])
	}
	d.rcodes.Merge(o.rcodes)
	d.qtypes.Merge(o.qtypes)
	d.ports.Merge(o.ports)
	_ = d.ratio.Merge(o.ratio)
	_ = d.timeUS.Merge(o.timeUS)
	_ = d.hist.Merge(o.hist)
	d.ecsTop.merge(&o.ecsTop)
}

func (d *dirV2) reset() {
	d.seen = false
	for _, c := range d.counters() {
		*c = 0
	}
	d.rate.Reset()
	d.qnames.Reset()
	for _, t := range d.strings() {
		t.Reset()
	}
	d.rcodes.Reset()
	d.qtypes.Reset()
	d.ports.Reset()
	d.ratio.Reset()
	d.timeUS.Reset()
	d.hist.Reset()
	d.ecsTop.reset()
}

type bucketV2 struct {
	base      window.Base
	filtered  uint64
	malformed uint64
	dirs      [3]dirV2 // indexed by dirUnknown/dirIn/dirOut
	clock     window.RateClock
}

func newBucketV2() *bucketV2 {
	b := &bucketV2{base: window.NewBase()}
	rates := []*sketches.Rate{b.base.EventRate}
	for i := range b.dirs {
		b.dirs[i] = newDirV2()
		rates = append(rates, b.dirs[i].rate)
	}
	b.clock = window.NewRateClock(rates...)
	return b
}

func (b *bucketV2) Merge(o *bucketV2) {
	b.base.Merge(&o.base)
	b.filtered += o.filtered
	b.malformed += o.malformed
	for i := range b.dirs {
		b.dirs[i].merge(&o.dirs[i])
	}
}

func (b *bucketV2) Reset() {
	b.base.Reset()
	b.filtered, b.malformed = 0, 0
	for i := range b.dirs {
		b.dirs[i].reset()
	}
	b.clock.Reset()
}

func (b *bucketV2) Tick(ts time.Time) { b.clock.Advance(ts) }
func (b *bucketV2) Close(time.Time)   { b.clock.Close() }

// V2 is the dns handler version 2.0: transaction-centric, split by
// transaction direction.
type V2 struct {
	handler.Windowed[*bucketV2]
	common  handler.Common
	groups  handler.Groups
	set     *settings
	enrich  handler.Enricher
	sampler window.Sampler
	mgr     *window.Manager[*bucketV2]
	xact    [3]*xactTable
	p90     [3]float64
	tcp     *tcpStreams
	now     func() time.Time

	msg dns.Message
	ev  event
}

var (
	_ handler.Handler        = (*V2)(nil)
	_ handler.PacketConsumer = (*V2)(nil)
	_ handler.TCPConsumer    = (*V2)(nil)
	_ handler.DnstapConsumer = (*V2)(nil)
	_ handler.Ticker         = (*V2)(nil)
	_ handler.Bounded        = (*V2)(nil)
)

// NewV2 builds a dns v2 handler.
func NewV2(name string, cfg handler.Config, env handler.Env) (handler.Handler, error) {
	c, g, err := handler.ParseModule(name, cfg, configKeysV2, groupsV2, defaultGroupsV2)
	if err != nil {
		return nil, err
	}
	s, err := parseSettings(cfg, true)
	if err != nil {
		return nil, err
	}
	h := &V2{
		common: c, groups: g, set: s, enrich: env.Enrich,
		sampler: window.NewSampler(c.SampleRate),
		mgr:     window.New(newBucketV2, c.WindowOptions()),
		now:     time.Now,
	}
	for i := range h.xact {
		h.xact[i] = newXactTable(s.maxOpenXact, s.xactTTL)
	}
	h.tcp = newTCPStreams(h.tcpMessage)
	h.mgr.OnShift(h.onShift)
	h.Windowed = handler.NewWindowed(handler.Module{Type: "dns", Version: "2.0", Schema: schema}, c, g, h.mgr)
	return h, nil
}

// OpenTransactions reports the queries waiting for a reply.
func (h *V2) OpenTransactions() int {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	n := 0
	for _, t := range h.xact {
		n += t.open()
	}
	return n
}

func (h *V2) onShift(closed, live *bucketV2, ts time.Time) {
	for i, t := range h.xact {
		if n := t.purge(ts.UnixNano()); n > 0 {
			live.dirs[i].timeouts += uint64(n)
			live.dirs[i].seen = true
		}
		if q := closed.dirs[i].timeUS; !q.Empty() {
			h.p90[i] = q.Quantile(0.9)
		}
	}
}

// HandlePacket accounts a UDP DNS packet.
func (h *V2) HandlePacket(p *decode.Packet) {
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
func (h *V2) WantTCP(src, dst uint16) bool { return h.set.ports.either(src, dst) }

// TCPData frames DNS messages out of a reassembled stream.
func (h *V2) TCPData(d *handler.TCPData) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	h.tcp.data(d)
}

// TCPClose forgets a connection's partial messages.
func (h *V2) TCPClose(conn uint64, _ time.Time) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	h.tcp.close(conn)
}

func (h *V2) tcpMessage(d *handler.TCPData, msg []byte) {
	port, ok := h.set.ports.metricPort(d.SrcPort, d.DstPort)
	if !ok {
		return
	}
	ev := &h.ev
	*ev = event{ts: d.Timestamp, dir: d.Dir, l3: d.L3, l4: trTCP, flow: d.FlowHash, port: port, size: len(msg), msg: &h.msg}
	h.processWire(ev, msg)
}

func (h *V2) processWire(ev *event, wire []byte) {
	err := dns.Parse(wire, ev.msg)
	if len(wire) < 12 {
		b := h.mgr.Live(ev.ts)
		b.clock.Advance(ev.ts)
		b.malformed++
		return
	}
	ev.parsed = true
	ev.query = !ev.msg.QR
	if ev.query {
		ev.xdir = queryDir(ev.dir)
	} else {
		ev.xdir = replyDir(ev.dir)
	}
	h.process(ev, err != nil)
}

// HandleDnstap accounts one dnstap message; queries and responses are
// paired by the addresses the messages carry and the DNS ID.
func (h *V2) HandleDnstap(m *handler.DnstapMessage) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	ev := &h.ev
	*ev = event{ts: dnstapTime(m, h.now), l3: m.Family, l4: dnstapTransport(m.Protocol), port: m.QueryPort,
		msg: &h.msg, dnstap: true, dnstapType: m.Type, query: !m.Type.IsResponse(), xdir: dnstapDir(m.Type),
		flow: dnstapFlow(m)}
	wire := m.QueryMessage
	if m.Type.IsResponse() {
		wire = m.ResponseMessage
	}
	if len(wire) < 12 {
		// Without a message there is nothing to pair: count the event.
		b := h.mgr.Live(ev.ts)
		b.clock.Advance(ev.ts)
		b.base.NewEvent(ev.ts, h.sampler.Next())
		if len(wire) > 0 {
			b.malformed++
		}
		return
	}
	malformed := dns.Parse(wire, ev.msg) != nil
	ev.parsed = true
	ev.size = len(wire)
	h.process(ev, malformed)
}

// pass applies v2's filters: queries are checked against direction,
// geo/ASN and qname filters, replies against direction, rcode, answer
// count, DNSSEC and qtype filters.
func (h *V2) pass(ev *event) verdict {
	s := h.set
	m := ev.msg
	v := verdict{pass: true}
	if s.dnstapTypes != 0 && ev.dnstap && s.dnstapTypes&(1<<ev.dnstapType) == 0 {
		return verdict{}
	}
	if !s.xactDirs[ev.xdir] {
		return verdict{}
	}
	if m.QR {
		switch {
		case len(s.excludeRcodes) > 0 && hasUint8(s.excludeRcodes, m.Rcode):
			return verdict{}
		case len(s.onlyRcodes) > 0 && !hasUint8(s.onlyRcodes, m.Rcode):
			return verdict{}
		case s.answerCount >= 0 && m.Answers != s.answerCount:
			return verdict{}
		case s.onlyDNSSEC && (m.Answers == 0 || !m.HasRRSIG):
			return verdict{}
		case len(s.onlyQtypes) > 0 && (!m.HasQuestion || !hasUint16(s.onlyQtypes, m.QType)):
			return verdict{}
		}
	} else {
		switch {
		case s.geoNotFound && !ecsUnknown(h.enrich, m, false):
			return verdict{}
		case s.asnNotFound && !ecsUnknown(h.enrich, m, true):
			return verdict{}
		case len(s.onlyQnames) > 0 && (!m.HasQuestion || !s.qnameListed(m.QNameBytes())):
			return verdict{}
		case len(s.qnameSuffixes) > 0 && (!m.HasQuestion || s.suffixMatch(m.QNameBytes()) < 0):
			return verdict{}
		}
	}
	if m.HasQuestion {
		v.suffixLen = s.staticSuffix(m.QNameBytes())
	}
	return v
}

func (h *V2) process(ev *event, malformed bool) {
	ts := ev.ts
	b := h.mgr.Live(ts)
	b.clock.Advance(ts)
	if malformed {
		b.malformed++
	}
	m := ev.msg
	key := xactKey{flow: ev.flow, id: m.ID}
	tsn := ts.UnixNano()
	table := h.xact[ev.xdir]
	v := h.pass(ev)
	if !v.pass {
		b.base.NewEvent(ts, h.sampler.Last())
		if m.QR {
			// Consume the transaction so its query is not later purged as
			// a timeout; the reply counts as filtered once.
			table.end(key, tsn)
		} else if table.start(key, xactEntry{start: tsn, filtered: true}) {
			b.dirs[ev.xdir].evicted++
		}
		b.filtered++
		return
	}
	deep := h.sampler.Next()
	b.base.NewEvent(ts, deep)
	d := &b.dirs[ev.xdir]
	if !m.QR {
		e := xactEntry{start: tsn, size: uint32(ev.size), cd: m.CD}
		if h.groups.On("top_ecs") {
			e.ecs = ecsAddr(m)
		}
		if table.start(key, e) {
			d.evicted++
			d.seen = true
		}
		return
	}
	e, res := table.end(key, tsn)
	d.seen = true
	switch {
	case res == xactValid && !e.filtered:
		h.transaction(d, ev, e, deep, v.suffixLen)
	case e.filtered:
		b.filtered++
	case res == xactTimedOut:
		d.timeouts++
	default:
		d.orphans++
	}
}

func (h *V2) transaction(d *dirV2, ev *event, q xactEntry, deep bool, suffixLen int) {
	m := ev.msg
	us := float64((ev.ts.UnixNano() - q.start) / 1000)
	d.xacts++
	switch ev.l3 {
	case decode.L3IPv4:
		d.ipv4++
	case decode.L3IPv6:
		d.ipv6++
	}
	switch ev.l4 {
	case trUDP:
		d.udp++
	case trTCP:
		d.tcp++
	case trDOT:
		d.dot++
	case trDOH:
		d.doh++
	case trDNSCryptUDP:
		d.cryptUDP++
	case trDNSCryptTCP:
		d.cryptTCP++
	case trDOQ:
		d.doq++
	}
	if q.cd {
		d.checkDisabled++
	}
	switch m.Rcode {
	case 0:
		d.noerror++
		if m.Answers == 0 {
			d.nodata++
		}
	case 2:
		d.srvfail++
	case 3:
		d.nxdomain++
	case 5:
		d.refused++
	}
	if m.AA {
		d.authAnswer++
	}
	if m.AD {
		d.authData++
	}
	d.rate.Add(ev.ts, 1)
	if !deep {
		return
	}
	if q.size > 0 {
		d.ratio.Add(float64(ev.size) / float64(q.size))
	}
	if ev.port != 0 {
		d.ports.Add(ev.port)
	}
	d.timeUS.Add(us)
	d.hist.Add(us)
	d.rcodes.Add(uint16(m.Rcode))
	if m.HasQuestion {
		name := m.QNameBytes()
		d.qnames.AddBytes(name)
		d.qtypes.Add(m.QType)
		switch m.Rcode {
		case 2:
			d.srvfQ.AddBytes(name, 1)
		case 3:
			d.nx.AddBytes(name, 1)
		case 5:
			d.refusedQ.AddBytes(name, 1)
		case 0:
			d.noerrQ.AddBytes(name, 1)
			if m.Answers == 0 {
				d.nodataQ.AddBytes(name, 1)
			}
		}
		d.respBytes.AddBytes(name, uint64(ev.size))
		if p90 := h.p90[ev.xdir]; p90 > 0 && us >= p90 {
			d.slow.AddBytes(name, 1)
		}
		q2, q3 := dns.AggregateDomain(name, suffixLen)
		d.qname2.AddBytes(q2, 1)
		if len(q3) > 0 {
			d.qname3.AddBytes(q3, 1)
		}
	}
	if q.ecs.IsValid() {
		d.ecs++
		d.ecsTop.add(h.enrich, q.ecs)
	}
}

var (
	nObserved    = n("DNS messages seen, filtered ones included", "observed_packets")
	nDeepV2      = n("DNS messages chosen for deep analysis", "deep_sampled_packets")
	nObsRate     = n("DNS messages per second before any filter", "rates", "observed_pps")
	nFilteredV2  = n("DNS messages rejected by a filter", "filtered_packets")
	nMalformedV2 = n("Total DNS messages that failed to parse (counted by their header when one was present)", "malformed_packets")

	nXacts       = n("Total DNS transactions (query/reply pairs)", "xacts")
	nUDPX        = n("Total DNS transactions received over UDP", "udp_xacts")
	nTCPX        = n("Total DNS transactions received over TCP", "tcp_xacts")
	nDOTX        = n("Total DNS transactions received over DNS over TLS", "dot_xacts")
	nDOHX        = n("Total DNS transactions received over DNS over HTTPS", "doh_xacts")
	nCryptUDPX   = n("Total DNS transactions received over DNSCrypt over UDP", "dnscrypt_udp_xacts")
	nCryptTCPX   = n("Total DNS transactions received over DNSCrypt over TCP", "dnscrypt_tcp_xacts")
	nDOQX        = n("Total DNS transactions received over DNS over QUIC", "doq_xacts")
	nIPv4X       = n("Total DNS transactions received over IPv4", "ipv4_xacts")
	nIPv6X       = n("Total DNS transactions received over IPv6", "ipv6_xacts")
	nNoerrorX    = n("Total DNS transactions with return code NOERROR", "noerror_xacts")
	nNXX         = n("Total DNS transactions with return code NXDOMAIN", "nxdomain_xacts")
	nSrvfailX    = n("Total DNS transactions with return code SRVFAIL", "srvfail_xacts")
	nRefusedX    = n("Total DNS transactions with return code REFUSED", "refused_xacts")
	nNodataX     = n("Total DNS transactions with return code NOERROR and no answers", "nodata_xacts")
	nECSX        = n("Total DNS transactions whose query carried EDNS Client Subnet", "ecs_xacts")
	nAuthDataX   = n("Total DNS transactions with the Authenticated Data bit set in the reply", "authenticated_data_xacts")
	nAuthAnswerX = n("Total DNS transactions with the Authoritative Answer bit set in the reply", "authoritative_answer_xacts")
	nCheckDisX   = n("Total DNS transactions with the Checking Disabled bit set in the query", "checking_disabled_xacts")
	nTimeouts    = n("Total DNS queries that timed out", "timeout_queries")
	nOrphans     = n("Total DNS responses that did not match a query", "orphan_responses")
	nEvictedV2   = n("Total open DNS queries dropped because the transaction table was full", "evicted_queries")
	nXactRates   = n("Rate of DNS transactions per second", "xact_rates")
	nCardQnameV2 = n("Estimated number of distinct query names", "cardinality", "qname")
	nQname2X     = n("Top QNAMES, aggregated at a depth of two labels", "top_qname2_xacts")
	nQname3X     = n("Top QNAMES, aggregated at a depth of three labels", "top_qname3_xacts")
	nNXTop       = n("Top QNAMES with result code NXDOMAIN", "top_nxdomain_xacts")
	nRefusedTop  = n("Top QNAMES with result code REFUSED", "top_refused_xacts")
	nSrvfailTop  = n("Top QNAMES with result code SRVFAIL", "top_srvfail_xacts")
	nNodataTop   = n("Top QNAMES with result code NOERROR and no answers", "top_nodata_xacts")
	nNoerrorTop  = n("Top QNAMES with result code NOERROR", "top_noerror_xacts")
	nRcodeTop    = n("Top result codes", "top_rcode_xacts")
	nQtypeTop    = n("Top query types", "top_qtype_xacts")
	nRespBytes   = n("Top QNAMES by response volume in bytes", "top_response_bytes")
	nSizeRatio   = floatName(n("Quantiles of reply/query size ratio of DNS transactions", "response_query_size_ratio"))
	nPortsTop    = n("Top UDP source ports on the query side of a transaction", "top_udp_ports_xacts")
	nECSTop      = n("Top EDNS Client Subnet (ECS) observed in DNS transactions", "top_ecs_xacts")
	nGeoECSTop   = n("Top GeoIP ECS locations", "top_geo_loc_ecs_xacts")
	nASNECSTop   = n("Top ASNs by ECS", "top_asn_ecs_xacts")
	nXactTimeUS  = n("Quantiles of transaction timing (query/reply pairs) in microseconds", "xact_time_us")
	nXactHistUS  = n("Histogram of transaction timing in microseconds", "xact_histogram_us")
	nSlowXacts   = n("Top QNAMES in transactions slower than the previous period's p90", "top_slow_xacts")
)

func (h *V2) write(b *bucketV2, w metrics.Writer, sp window.Span) {
	live := sp.Live && !h.common.Recorded
	g := h.groups
	c := h.common
	w.Counter(nObserved, b.base.Events)
	w.Counter(nDeepV2, b.base.DeepSamples)
	w.Rate(nObsRate, b.base.EventRate, live)
	if g.On("counters") {
		w.Counter(nFilteredV2, b.filtered)
		w.Counter(nMalformedV2, b.malformed)
	}
	for i := range b.dirs {
		d := &b.dirs[i]
		if !d.seen {
			continue
		}
		dw := w.Group(dirNames[i], "direction", dirNames[i])
		if g.On("quantiles") {
			dw.Rate(nXactRates, d.rate, false)
		}
		if g.On("counters") {
			for _, x := range []struct {
				n metrics.Name
				v uint64
			}{
				{nXacts, d.xacts}, {nUDPX, d.udp}, {nTCPX, d.tcp}, {nDOTX, d.dot}, {nDOHX, d.doh},
				{nCryptUDPX, d.cryptUDP}, {nCryptTCPX, d.cryptTCP}, {nDOQX, d.doq}, {nIPv4X, d.ipv4}, {nIPv6X, d.ipv6},
				{nNoerrorX, d.noerror}, {nNXX, d.nxdomain}, {nSrvfailX, d.srvfail}, {nRefusedX, d.refused},
				{nNodataX, d.nodata}, {nAuthDataX, d.authData}, {nAuthAnswerX, d.authAnswer},
				{nCheckDisX, d.checkDisabled}, {nTimeouts, d.timeouts}, {nOrphans, d.orphans}, {nEvictedV2, d.evicted},
			} {
				dw.Counter(x.n, x.v)
			}
		}
		if g.On("cardinality") {
			dw.Cardinality(nCardQnameV2, d.qnames.Estimate())
		}
		if g.On("top_ports") {
			dw.TopN(nPortsTop, "port", handler.Rows(c, d.ports.Top(c.TopN, nil), portName))
		}
		if g.On("top_ecs") {
			if g.On("counters") {
				dw.Counter(nECSX, d.ecs)
			}
			d.ecsTop.write(dw, c, nECSTop, nGeoECSTop, nASNECSTop)
		}
		if g.On("top_rcodes") {
			writeStrings(dw, c, nNXTop, "qname", d.nx)
			writeStrings(dw, c, nRefusedTop, "qname", d.refusedQ)
			writeStrings(dw, c, nSrvfailTop, "qname", d.srvfQ)
			writeStrings(dw, c, nNodataTop, "qname", d.nodataQ)
			writeStrings(dw, c, nNoerrorTop, "qname", d.noerrQ)
			dw.TopN(nRcodeTop, "rcode", handler.Rows(c, d.rcodes.Top(c.TopN, nil), rcodeLabel))
		}
		if g.On("top_qnames") {
			writeStrings(dw, c, nQname2X, "qname", d.qname2)
			writeStrings(dw, c, nQname3X, "qname", d.qname3)
		}
		if g.On("top_size") {
			writeStrings(dw, c, nRespBytes, "qname", d.respBytes)
			dw.Quantile(nSizeRatio, d.ratio)
		}
		if g.On("top_qtypes") {
			dw.TopN(nQtypeTop, "qtype", handler.Rows(c, d.qtypes.Top(c.TopN, nil), qtypeName))
		}
		if g.On("xact_times") {
			dw.Quantile(nXactTimeUS, d.timeUS)
			dw.Histogram(nXactHistUS, d.hist)
			writeStrings(dw, c, nSlowXacts, "qname", d.slow)
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
