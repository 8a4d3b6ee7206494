package dnshandler

import (
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode"
	"github.com/visorng/visor/decode/dns"
)

// Pass makes dns v1 a filter stage in a chained policy (handler.Passer), as
// in pktvisor's "dns filter → net" chains: a UDP packet goes on only when it
// is DNS and passes this handler's filters. TCP segments on a DNS port go
// on whole, since one segment need not hold a whole message; other packets
// stop here.
func (h *V1) Pass(p *decode.Packet) bool {
	switch p.L4 {
	case decode.L4TCP:
		return h.set.ports.either(p.SrcPort, p.DstPort)
	case decode.L4UDP:
	default:
		return false
	}
	port, ok := h.set.ports.metricPort(p.SrcPort, p.DstPort)
	if !ok || len(p.Payload) < 12 {
		return false
	}
	h.mgr.Lock()
	defer h.mgr.Unlock()
	msg := &h.passMsg
	ev := event{ts: p.Timestamp, dir: p.Dir, l3: p.L3, l4: trUDP, port: port, size: len(p.Payload), msg: msg}
	if dns.Parse(p.Payload, msg) != nil {
		return false
	}
	ev.parsed = true
	ev.query = !msg.QR
	return h.pass(&ev).pass
}

var _ handler.Passer = (*V1)(nil)
