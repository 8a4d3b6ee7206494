package flowhandler

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

var dirNames = [2]string{"in", "out"}

func n(help string, path ...string) metrics.Name { return metrics.N(schema, help, path...) }

var (
	nFlows    = n("Count of flow records accounted", "records_flows")
	nFiltered = n("Count of flow records rejected by filters", "records_filtered")
	// Beyond pktvisor: what the bounds on tracked devices and interfaces cut.
	nIfOverflow     = n("Count of records whose interface was not tracked because the device has too many interfaces", "records_interface_overflow")
	nDeviceOverflow = n("Count of datagrams from devices not tracked because too many devices were seen", "records_device_overflow")

	nCardSrcIPsIn    = n("Cardinality of source IPs of inbound flows", "cardinality", "src_ips_in")
	nCardDstIPsOut   = n("Cardinality of destination IPs of outbound flows", "cardinality", "dst_ips_out")
	nCardSrcPortsIn  = n("Cardinality of source ports of inbound flows", "cardinality", "src_ports_in")
	nCardDstPortsOut = n("Cardinality of destination ports of outbound flows", "cardinality", "dst_ports_out")
	nCardConv        = n("Cardinality of conversations", "cardinality", "conversations")
)

func (h *Handler) portName(k portKey) string { return h.services.ServiceName(k.proto, k.port) }

func (h *Handler) ipPortName(k ipPortKey) string { return k.ip.String() + ":" + h.portName(k.port) }

func (h *Handler) convName(k convKey) string {
	a, b := h.ipPortName(k.a), h.ipPortName(k.b)
	if b < a {
		a, b = b, a
	}
	return a + "/" + b
}

func ipKeyName(k ipKey) string { return k.String() }

func u32Name(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func (h *Handler) write(b *bucket, w metrics.Writer) {
	b.replay()
	g := h.groups
	c := h.common
	addrs := make([]netip.Addr, 0, len(b.devices))
	for a := range b.devices {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(x, y netip.Addr) int { return x.Compare(y) })
	devices := w.Group("devices", "", "")
	if g.On("counters") && b.deviceOverflow > 0 {
		w.Counter(nDeviceOverflow, b.deviceOverflow)
	}
	for _, a := range addrs {
		d := b.devices[a]
		dw := devices.Group(d.name, "device", d.name)
		if g.On("counters") {
			dw.Counter(nFlows, d.flows)
			dw.Counter(nFiltered, d.filtered)
			if d.ifOverflow > 0 {
				dw.Counter(nIfOverflow, d.ifOverflow)
			}
		}
		ifName := func(idx uint32) string {
			if name, ok := d.ifaceNames[idx]; ok {
				return name
			}
			return u32Name(idx)
		}
		if g.On("top_interfaces") {
			d.inIfaces.write(dw, c, g, "top_in_interfaces", "Top input interfaces", "interface", ifName)
			d.outIfs.write(dw, c, g, "top_out_interfaces", "Top output interfaces", "interface", ifName)
		}
		idxs := make([]uint32, 0, len(d.ifaces))
		for idx := range d.ifaces {
			idxs = append(idxs, idx)
		}
		slices.Sort(idxs)
		ifaces := dw.Group("interfaces", "", "")
		for _, idx := range idxs {
			name := ifName(idx)
			iw := ifaces.Group(name, "device_interface", d.name+"|"+name)
			h.writeIface(d.ifaces[idx], iw, dw)
		}
	}
}

func (h *Handler) writeIface(m *ifMetrics, w, deviceW metrics.Writer) {
	g, c := h.groups, h.common
	if g.On("cardinality") {
		w.Cardinality(nCardSrcIPsIn, m.srcIPsIn.Estimate())
		w.Cardinality(nCardDstIPsOut, m.dstIPsOut.Estimate())
		w.Cardinality(nCardSrcPortsIn, m.srcPortsIn.Estimate())
		w.Cardinality(nCardDstPortsOut, m.dstPortsOut.Estimate())
		if g.On("conversations") {
			// JSON keeps it with the interface; pktvisor's Prometheus
			// output labels it with the device only (quirk 10). We keep
			// the interface label: a family must not mix label sets, and
			// the interface is what the number describes.
			w.Cardinality(nCardConv, m.conversations.Estimate())
		}
	}
	for d := range 2 {
		dn := dirNames[d]
		if g.On("counters") {
			cn := &m.cnt[d]
			type kv struct {
				name    string
				b, p    uint64
				comment string
			}
			for _, e := range []kv{
				{"udp", cn.udpB, cn.udpP, "UDP"}, {"tcp", cn.tcpB, cn.tcpP, "TCP"}, {"other_l4", cn.otherB, cn.otherP, "non-UDP/TCP"},
				{"ipv4", cn.v4B, cn.v4P, "IPv4"}, {"ipv6", cn.v6B, cn.v6P, "IPv6"},
			} {
				if g.On("by_bytes") {
					w.Counter(n(e.comment+" "+dn+" bytes", dn+"_"+e.name+"_bytes"), e.b)
				}
				if g.On("by_packets") {
					w.Counter(n(e.comment+" "+dn+" packets", dn+"_"+e.name+"_packets"), e.p)
				}
			}
			if g.On("by_bytes") {
				w.Counter(n("Total "+dn+" bytes", dn+"_bytes"), cn.bytes)
			}
			if g.On("by_packets") {
				w.Counter(n("Total "+dn+" packets", dn+"_packets"), cn.packets)
			}
		}
		if g.On("top_ips") {
			m.srcIPs[d].write(w, c, g, "top_"+dn+"_src_ips", "Top "+dn+" source IPs", "ip", ipKeyName)
			m.dstIPs[d].write(w, c, g, "top_"+dn+"_dst_ips", "Top "+dn+" destination IPs", "ip", ipKeyName)
		}
		if g.On("top_ports") {
			m.srcPorts[d].write(w, c, g, "top_"+dn+"_src_ports", "Top "+dn+" source ports", "port", h.portName)
			m.dstPorts[d].write(w, c, g, "top_"+dn+"_dst_ports", "Top "+dn+" destination ports", "port", h.portName)
		}
		if g.On("top_ips_ports") {
			m.srcIPPorts[d].write(w, c, g, "top_"+dn+"_src_ip_ports", "Top "+dn+" source IP:port", "ip_port", h.ipPortName)
			m.dstIPPorts[d].write(w, c, g, "top_"+dn+"_dst_ip_ports", "Top "+dn+" destination IP:port", "ip_port", h.ipPortName)
		}
		if g.On("top_tos") {
			m.dscp[d].write(w, c, g, "top_"+dn+"_dscp", "Top "+dn+" DSCP", "dscp", dscpName)
			m.ecn[d].write(w, c, g, "top_"+dn+"_ecn", "Top "+dn+" ECN", "ecn", ecnName)
		}
	}
	if g.On("top_geo") && h.enrich != nil {
		m.geo.write(w, c, g, "top_geo_loc", "Top geo locations", "geo_loc", func(s string) string { return s })
		m.asn.write(w, c, g, "top_asn", "Top ASNs", "asn", func(s string) string { return s })
	}
	if g.On("conversations") {
		m.conv.write(w, c, g, "top_conversations", "Top conversations", "conversation", h.convName)
	}
}

// dscpName renders a DSCP codepoint with its standard name (RFC 2474,
// 2597, 3246, 5865), else the number.
func dscpName(v uint8) string {
	switch v {
	case 0:
		return "CS0"
	case 8, 16, 24, 32, 40, 48, 56:
		return "CS" + strconv.Itoa(int(v/8))
	case 10, 12, 14, 18, 20, 22, 26, 28, 30, 34, 36, 38:
		return "AF" + strconv.Itoa(int(v/8)) + strconv.Itoa(int(v%8)/2)
	case 46:
		return "EF"
	case 44:
		return "VOICE-ADMIT"
	}
	return strconv.Itoa(int(v))
}

func ecnName(v uint8) string {
	switch v & 3 {
	case 0:
		return "Not-ECT"
	case 1:
		return "ECT(1)"
	case 2:
		return "ECT(0)"
	}
	return "CE"
}

// WriteBucket writes bucket p.
func (h *Handler) WriteBucket(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteBucketTo(p, func(b *bucket, sp window.Span) { h.write(b, w) })
}

// WriteWindow writes the merged window of p buckets.
func (h *Handler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return h.mgr.WriteWindowTo(p, func(b *bucket, sp window.Span) { h.write(b, w) })
}

var _ handler.Handler = (*Handler)(nil)
