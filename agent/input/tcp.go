package input

import (
	"net/netip"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/tcpreasm"
	"github.com/visorng/visor/decode"
)

// tcpFeed reassembles the TCP connections some attached handler.TCPConsumer
// wants and hands their in-order bytes to those consumers. It is driven by
// PacketInput's run loop and is not safe for concurrent use.
type tcpFeed struct {
	r     *tcpreasm.Reassembler
	hosts HostSet

	hs   []handler.TCPConsumer // consumers of the packet being fed
	cur  *decode.Packet        // packet being fed (direction hint without host_spec)
	next uint64                // connection ids
	data handler.TCPData       // reused per delivery

	rejected uint64

	// states is the chunk new connections' states are carved from: one
	// allocation per stateChunk connections instead of one each.
	states []tcpConnState
}

const stateChunk = 64

// tcpConnState is kept in tcpreasm.Conn.State.
type tcpConnState struct {
	id   uint64
	flow uint64
}

func newTCPFeed(cfg tcpreasm.Config, hosts HostSet) (*tcpFeed, error) {
	f := &tcpFeed{hosts: hosts}
	r, err := tcpreasm.New(cfg, f)
	if err != nil {
		return nil, err
	}
	f.r = r
	return f, nil
}

// wantedTCP reports whether any consumer reads TCP between these ports.
func wantedTCP(hs []handler.TCPConsumer, a, b uint16) bool {
	for _, c := range hs {
		if c.WantTCP(a, b) {
			return true
		}
	}
	return false
}

// add feeds one TCP packet; it reports whether the reassembler rejected it.
func (f *tcpFeed) add(p *decode.Packet, hs []handler.TCPConsumer) (rejected bool) {
	f.hs, f.cur = hs, p
	before := f.r.Stats().SegmentsRejected
	f.r.Add(p)
	f.cur = nil
	if f.r.Stats().SegmentsRejected != before {
		f.rejected++
		return true
	}
	return false
}

func (f *tcpFeed) flush(ts time.Time, hs []handler.TCPConsumer) {
	f.hs = hs
	f.r.Flush(ts)
}

func (f *tcpFeed) direction(src, dst netip.AddrPort) decode.Direction {
	if !f.hosts.Empty() {
		switch {
		case f.hosts.Contains(dst.Addr()):
			return decode.DirIn
		case f.hosts.Contains(src.Addr()):
			return decode.DirOut
		}
		return decode.DirUnknown
	}
	// Without host_spec only the capture source knows (e.g. the TC hook
	// side); that is known for the packet being fed.
	if p := f.cur; p != nil && p.Src == src.Addr() && p.SrcPort == src.Port() && p.Dst == dst.Addr() && p.DstPort == dst.Port() {
		return p.Dir
	}
	if p := f.cur; p != nil && p.Src == dst.Addr() && p.SrcPort == dst.Port() && p.Dst == src.Addr() && p.DstPort == src.Port() {
		switch p.Dir {
		case decode.DirIn:
			return decode.DirOut
		case decode.DirOut:
			return decode.DirIn
		}
	}
	return decode.DirUnknown
}

// Data implements tcpreasm.Handler.
func (f *tcpFeed) Data(c *tcpreasm.Conn, side tcpreasm.Side, data []byte, ts time.Time) {
	st, _ := c.State.(*tcpConnState)
	if st == nil {
		f.next++
		var key decode.Packet
		key.Src, key.Dst = c.Client.Addr(), c.Server.Addr()
		key.SrcPort, key.DstPort = c.Client.Port(), c.Server.Port()
		key.L3, key.IPProto = c.L3, 6
		st = f.newState(f.next, key.FlowHash())
		c.State = st
	}
	src, dst := c.Client, c.Server
	if side == tcpreasm.SideServer {
		src, dst = dst, src
	}
	d := &f.data
	*d = handler.TCPData{
		Conn: st.id, FlowHash: st.flow, L3: c.L3,
		Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(),
		Dir: f.direction(src, dst), Timestamp: ts, Data: data,
	}
	for _, tc := range f.hs {
		if tc.WantTCP(d.SrcPort, d.DstPort) {
			tc.TCPData(d)
		}
	}
	d.Data = nil
}

// newState returns a connection state from the current chunk. A chunk
// stays reachable while any of its connections is open, which bounds the
// extra memory to one chunk per long-lived connection.
func (f *tcpFeed) newState(id, flow uint64) *tcpConnState {
	if len(f.states) == cap(f.states) {
		f.states = make([]tcpConnState, 0, stateChunk)
	}
	f.states = append(f.states, tcpConnState{id: id, flow: flow})
	return &f.states[len(f.states)-1]
}

// Closed implements tcpreasm.Handler.
func (f *tcpFeed) Closed(c *tcpreasm.Conn, _ tcpreasm.CloseReason, ts time.Time) {
	st, _ := c.State.(*tcpConnState)
	if st == nil {
		return
	}
	for _, tc := range f.hs {
		if tc.WantTCP(c.Client.Port(), c.Server.Port()) {
			tc.TCPClose(st.id, ts)
		}
	}
}

// TCPStats returns the reassembler's counters (zero before the first
// wanted TCP packet).
func (in *PacketInput) TCPStats() tcpreasm.Stats {
	if in.tcp == nil {
		return tcpreasm.Stats{}
	}
	return in.tcp.r.Stats()
}

// feedTCP hands a TCP packet to the reassembler when a handler wants its
// connection, and tells TCPErrorConsumers about packets it rejected.
func (in *PacketInput) feedTCP(p *decode.Packet, hs *attached) {
	if p.L4 != decode.L4TCP || !wantedTCP(hs.tcp, p.SrcPort, p.DstPort) {
		return
	}
	if in.tcp == nil {
		f, err := newTCPFeed(in.opts.TCP, in.opts.Hosts)
		if err != nil {
			// Only negative limits fail; NewPacketInput validated them.
			return
		}
		in.tcp = f
	}
	if in.tcp.add(p, hs.tcp) {
		for _, c := range hs.tcpErr {
			c.TCPReassemblyError(p.Timestamp)
		}
	}
}

// flushTCP closes every connection at the end of the input, delivering
// what is still buffered.
func (in *PacketInput) flushTCP(ts time.Time, hs *attached) {
	if in.tcp != nil {
		in.tcp.flush(ts, hs.tcp)
	}
}
