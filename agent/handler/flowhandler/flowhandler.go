// Package flowhandler implements pktvisor's flow handler (schema "flow"):
// per exporter device and interface, traffic counters and top lists from
// sFlow, NetFlow and IPFIX records, weighted by bytes and by packets.
package flowhandler

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/visorng/visor/agent/enrich"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode/flow"
	"github.com/visorng/visor/sketches"
)

const schema = "flow"

// Bounds on tracked state: label cardinality and memory stay bounded however
// many exporters or interfaces a hostile or misconfigured network sends.
const (
	MaxDevices           = 256
	MaxIfacesPerDevice   = 1024
	cardinalityPrecision = 12
)

const (
	dirIn  = 0
	dirOut = 1
)

type dirCounters struct {
	udpB, udpP, tcpB, tcpP, otherB, otherP uint64
	v4B, v4P, v6B, v6P                     uint64
	bytes, packets                         uint64
}

func (c *dirCounters) add(r *aggKey, b, p uint64) {
	switch r.proto {
	case 17:
		c.udpB += b
		c.udpP += p
	case 6:
		c.tcpB += b
		c.tcpP += p
	default:
		c.otherB += b
		c.otherP += p
	}
	if r.src.Is4() {
		c.v4B += b
		c.v4P += p
	} else if r.src.Is6() {
		c.v6B += b
		c.v6P += p
	}
	c.bytes += b
	c.packets += p
}

func (c *dirCounters) merge(o *dirCounters) {
	c.udpB += o.udpB
	c.udpP += o.udpP
	c.tcpB += o.tcpB
	c.tcpP += o.tcpP
	c.otherB += o.otherB
	c.otherP += o.otherP
	c.v4B += o.v4B
	c.v4P += o.v4P
	c.v6B += o.v6B
	c.v6P += o.v6P
	c.bytes += o.bytes
	c.packets += o.packets
}

type ifMetrics struct {
	cnt                                          [2]dirCounters
	srcIPsIn, dstIPsOut, srcPortsIn, dstPortsOut *sketches.HLL
	conversations                                *sketches.HLL
	srcIPs, dstIPs                               [2]*wtop[ipKey]
	srcPorts, dstPorts                           [2]*wtop[portKey]
	srcIPPorts, dstIPPorts                       [2]*wtop[ipPortKey]
	dscp, ecn                                    [2]*wtop[uint8]
	geo, asn                                     *wtop[string]
	conv                                         *wtop[convKey]
}

func newHLL() *sketches.HLL {
	h, _ := sketches.NewHLL(cardinalityPrecision)
	return h
}

func newIfMetrics() *ifMetrics {
	m := &ifMetrics{
		srcIPsIn: newHLL(), dstIPsOut: newHLL(), srcPortsIn: newHLL(), dstPortsOut: newHLL(), conversations: newHLL(),
		geo: newWtop[string](sketches.HashString), asn: newWtop[string](sketches.HashString),
		conv: newWtop(hashConvKey),
	}
	for d := range 2 {
		m.srcIPs[d], m.dstIPs[d] = newWtop(hashIPKey), newWtop(hashIPKey)
		m.srcPorts[d], m.dstPorts[d] = newWtop(hashPortKey), newWtop(hashPortKey)
		m.srcIPPorts[d], m.dstIPPorts[d] = newWtop(hashIPPortKey), newWtop(hashIPPortKey)
		m.dscp[d], m.ecn[d] = newWtop(hashU8), newWtop(hashU8)
	}
	return m
}

func (m *ifMetrics) merge(o *ifMetrics) {
	for d := range 2 {
		m.cnt[d].merge(&o.cnt[d])
		m.srcIPs[d].merge(o.srcIPs[d])
		m.dstIPs[d].merge(o.dstIPs[d])
		m.srcPorts[d].merge(o.srcPorts[d])
		m.dstPorts[d].merge(o.dstPorts[d])
		m.srcIPPorts[d].merge(o.srcIPPorts[d])
		m.dstIPPorts[d].merge(o.dstIPPorts[d])
		m.dscp[d].merge(o.dscp[d])
		m.ecn[d].merge(o.ecn[d])
	}
	_ = m.srcIPsIn.Merge(o.srcIPsIn)
	_ = m.dstIPsOut.Merge(o.dstIPsOut)
	_ = m.srcPortsIn.Merge(o.srcPortsIn)
	_ = m.dstPortsOut.Merge(o.dstPortsOut)
	_ = m.conversations.Merge(o.conversations)
	m.geo.merge(o.geo)
	m.asn.merge(o.asn)
	m.conv.merge(o.conv)
}

type device struct {
	addr             netip.Addr
	name             string
	flows, filtered  uint64
	ifaces           map[uint32]*ifMetrics
	ifaceNames       map[uint32]string
	inIfaces, outIfs *wtop[uint32]
	ifOverflow       uint64
}

func newDevice(addr netip.Addr, name string) *device {
	h := func(v uint32) uint64 { return sketches.HashUint64(uint64(v)) }
	return &device{addr: addr, name: name, ifaces: map[uint32]*ifMetrics{}, ifaceNames: map[uint32]string{}, inIfaces: newWtop(h), outIfs: newWtop(h)}
}

type bucket struct {
	h              *Handler // replays pending records with the handler's settings
	devices        map[netip.Addr]*device
	deviceOverflow uint64
	pend           pending
}

func (b *bucket) Merge(o *bucket) {
	o.replay()
	for a, od := range o.devices {
		d, ok := b.devices[a]
		if !ok {
			d = newDevice(a, od.name)
			b.devices[a] = d
		}
		d.flows += od.flows
		d.filtered += od.filtered
		d.ifOverflow += od.ifOverflow
		d.inIfaces.merge(od.inIfaces)
		d.outIfs.merge(od.outIfs)
		for idx, oi := range od.ifaces {
			i, ok := d.ifaces[idx]
			if !ok {
				i = newIfMetrics()
				d.ifaces[idx] = i
				d.ifaceNames[idx] = od.ifaceNames[idx]
			}
			i.merge(oi)
		}
	}
	b.deviceOverflow += o.deviceOverflow
}

// Reset drops the per-device state: device sets change between periods, so
// keeping every device's sketches alive would hold memory for exporters
// that went away.
func (b *bucket) Reset() {
	b.pend.reset()
	clear(b.devices)
	b.deviceOverflow = 0
}

func (b *bucket) Tick(time.Time) {}

// Close replays what is pending and lets the table go: a closed bucket is
// only read, and holding half a MiB in each of them would be waste.
func (b *bucket) Close(time.Time) {
	b.replay()
	b.pend = pending{}
}

// replay folds the pending aggregates into the counters and sketches. Every
// reader of a bucket (write, Merge) calls it first, under the window lock,
// so what is read is exact.
func (b *bucket) replay() {
	if len(b.pend.keys) > 0 {
		b.h.replayBatch(&b.pend)
	}
	b.pend.reset()
}

// Handler is the flow handler.
type Handler struct {
	handler.Windowed[*bucket]
	common   handler.Common
	groups   handler.Groups
	on       hotGroups
	set      settings
	enrich   handler.Enricher
	services handler.ServiceNamer
	sampler  window.Sampler
	mgr      *window.Manager[*bucket]

	pendingLimit int // maxPending; tests set 1 to replay every record at once
	refs         []ifRefs
}

type hotGroups struct {
	cardinality, topIPs, topPorts, topIPsPorts, topTOS, conversations, topGeo bool
}

var (
	_ handler.Handler      = (*Handler)(nil)
	_ handler.FlowConsumer = (*Handler)(nil)
)

// New builds a flow handler.
func New(name string, cfg handler.Config, env handler.Env) (handler.Handler, error) {
	c, g, err := handler.ParseModule(name, cfg, configKeys, allGroups, defaultGroups)
	if err != nil {
		return nil, err
	}
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	var svc handler.ServiceNamer = enrich.DefaultServices()
	if env.Services != nil {
		svc = env.Services
	}
	h := &Handler{
		common: c, groups: g, on: groupFlags(g), set: s, enrich: env.Enrich, services: svc,
		sampler: window.NewSampler(c.SampleRate), pendingLimit: maxPending,
	}
	h.mgr = window.New(h.newBucket, c.WindowOptions())
	h.Windowed = handler.NewWindowed(handler.Module{Type: "flow", Version: "1.0", Schema: schema}, c, g, h.mgr)
	return h, nil
}

func (h *Handler) newBucket() *bucket { return &bucket{h: h, devices: map[netip.Addr]*device{}} }

// groupFlags reads the metric groups the per-record path tests into plain
// booleans, once, instead of a map lookup per record and group.
func groupFlags(g handler.Groups) hotGroups {
	return hotGroups{
		cardinality: g.On("cardinality"), topIPs: g.On("top_ips"), topPorts: g.On("top_ports"),
		topIPsPorts: g.On("top_ips_ports"), topTOS: g.On("top_tos"), conversations: g.On("conversations"),
		topGeo: g.On("top_geo"),
	}
}

func (h *Handler) device(b *bucket, a netip.Addr) *device {
	d, ok := b.devices[a]
	if ok {
		return d
	}
	if len(b.devices) >= MaxDevices {
		b.deviceOverflow++
		return nil
	}
	name := a.String()
	if info, ok := h.set.deviceMap[a]; ok && h.set.enrichment {
		name = info.name
	}
	d = newDevice(a, name)
	b.devices[a] = d
	return d
}

func (h *Handler) iface(d *device, idx uint32, records uint64) *ifMetrics {
	m, ok := d.ifaces[idx]
	if ok {
		return m
	}
	if len(d.ifaces) >= MaxIfacesPerDevice {
		d.ifOverflow += records
		return nil
	}
	m = newIfMetrics()
	d.ifaces[idx] = m
	name := strconv.FormatUint(uint64(idx), 10)
	if info, ok := h.set.deviceMap[d.addr]; ok && h.set.enrichment {
		if n, ok := info.interfaces[idx]; ok {
			name = n
		}
	}
	d.ifaceNames[idx] = name
	return m
}

// HandleFlows accounts one datagram's records.
func (h *Handler) HandleFlows(dev netip.Addr, ts time.Time, recs []flow.Record) {
	h.mgr.Lock()
	defer h.mgr.Unlock()
	b := h.mgr.Live(ts)
	d := h.device(b, dev)
	if d == nil {
		return
	}
	deep := h.sampler.Next()
	var allowed []portRange
	if h.set.onlyIfaces != nil {
		var listed bool
		allowed, listed = h.set.onlyIfaces[dev]
		if !listed {
			d.filtered += uint64(len(recs))
			return
		}
	}
	for i := range recs {
		if h.record(b, d, &recs[i], allowed, deep) {
			b.replay()
		}
	}
}

// record applies the filters to r and adds it to the bucket's pending
// aggregates; it reports whether they are full and must be replayed.
func (h *Handler) record(b *bucket, d *device, r *flow.Record, allowed []portRange, deep bool) (full bool) {
	hasIn, hasOut := r.HasInIf, r.HasOutIf
	if allowed != nil {
		hasIn = hasIn && inRanges(allowed, r.InIf)
		hasOut = hasOut && inRanges(allowed, r.OutIf)
		if !hasIn && !hasOut {
			d.filtered++
			return false
		}
	}
	if h.set.onlyIn {
		hasOut = false
	} else if h.set.onlyOut {
		hasIn = false
	}
	if !hasIn && !hasOut || !h.pass(r) {
		d.filtered++
		return false
	}
	d.flows++
	packets, bytes := r.Packets, r.Bytes
	if r.SampleRate > 1 && h.set.scaling {
		packets *= uint64(r.SampleRate)
		bytes *= uint64(r.SampleRate)
	}
	k := aggKey{
		d: d, src: r.Src, dst: r.Dst, sp: r.SrcPort, dp: r.DstPort, proto: r.Proto, tos: r.TOS,
		hasIn: hasIn, hasOut: hasOut, deep: deep,
	}
	if hasIn {
		k.inIf = r.InIf
	}
	if hasOut {
		k.outIf = r.OutIf
	}
	return b.pend.add(&k, bytes, packets, h.pendingLimit)
}

func (h *Handler) pass(r *flow.Record) bool {
	s := &h.set
	if len(s.onlyIPs) > 0 && !containsAny(s.onlyIPs, r.Src) && !containsAny(s.onlyIPs, r.Dst) {
		return false
	}
	if len(s.onlyPorts) > 0 && !inRanges(s.onlyPorts, uint32(r.SrcPort)) && !inRanges(s.onlyPorts, uint32(r.DstPort)) {
		return false
	}
	if s.geoNotFound || s.asnNotFound {
		if h.enrich == nil {
			return false
		}
		unknown := func(a netip.Addr) bool {
			if s.geoNotFound {
				if loc, ok := h.enrich.City(a); ok && loc.Name == enrich.Unknown {
					return true
				}
			}
			if s.asnNotFound {
				if asn, ok := h.enrich.ASN(a); ok && asn == enrich.Unknown {
					return true
				}
			}
			return false
		}
		if !unknown(r.Src) && !unknown(r.Dst) {
			return false
		}
	}
	return true
}

func containsAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// summarize turns an address into its top-list key.
func (h *Handler) summarize(a netip.Addr) ipKey {
	s := &h.set
	if containsAny(s.excludeIPs, a) {
		return ipKey{p: netip.PrefixFrom(a, a.BitLen())}
	}
	if s.byASN && h.enrich != nil {
		if asn, ok := h.enrich.ASN(a); ok && !s.excludeASNs[asnNumber(asn)] && !(asn == enrich.Unknown && s.excludeUnkn) {
			return ipKey{asn: asn}
		}
	}
	for _, p := range s.subnets {
		if p.Contains(a) {
			return ipKey{p: p}
		}
	}
	if w := s.wildcard4; a.Is4() && w >= 0 {
		p, _ := a.Prefix(w)
		return ipKey{p: p}
	}
	if w := s.wildcard6; a.Is6() && w >= 0 {
		p, _ := a.Prefix(w)
		return ipKey{p: p}
	}
	return ipKey{p: netip.PrefixFrom(a, a.BitLen())}
}

func asnNumber(asn string) string {
	for i := 0; i < len(asn); i++ {
		if asn[i] == '/' {
			return asn[:i]
		}
	}
	return asn
}
