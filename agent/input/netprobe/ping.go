package netprobe

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// payloadMagic starts every echo payload, as pktvisor's.
const payloadMagic = "pktvisor"

type pending struct {
	key  uint32
	sent time.Time
}

// pinger owns one ICMP socket for one target and family.
type pinger struct {
	in     *Input
	family int
	conn   *icmp.PacketConn
	// raw sockets see every echo reply on the host: they match the
	// identifier and the source. Datagram (ping) sockets only get replies
	// to their own identifier, which the kernel chooses.
	raw    bool
	id     uint16
	target string
	dst    netip.Addr
	buf    []byte

	mu      sync.Mutex
	pending map[uint16]pending // by sequence
	done    chan struct{}
}

// listen opens a ping socket where allowed, else a raw socket.
func listen(fam int) (*icmp.PacketConn, bool, error) {
	dgram, rawNet, any := "udp4", "ip4:icmp", "0.0.0.0"
	if fam == 6 {
		dgram, rawNet, any = "udp6", "ip6:ipv6-icmp", "::"
	}
	if c, err := icmp.ListenPacket(dgram, any); err == nil {
		return c, false, nil
	}
	c, err := icmp.ListenPacket(rawNet, any)
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

func newPinger(dst netip.Addr, id uint16, in *Input) (*pinger, error) {
	fam := family(dst)
	c, raw, err := listen(fam)
	if err != nil {
		return nil, err
	}
	p := &pinger{in: in, family: fam, conn: c, raw: raw, id: id, pending: map[uint16]pending{}, done: make(chan struct{})}
	p.buf = make([]byte, in.cfg.PayloadSize)
	copy(p.buf, payloadMagic)
	go p.read()
	return p, nil
}

func (p *pinger) close() {
	_ = p.conn.Close()
	<-p.done
}

// round sends packets_per_test echoes, then waits for each one's timeout
// and reports the unanswered ones.
func (p *pinger) round(ctx context.Context, target string, dst netip.Addr, round uint32) {
	p.mu.Lock()
	p.target, p.dst = target, dst
	clear(p.pending)
	p.mu.Unlock()
	typ := icmp.Type(ipv4.ICMPTypeEcho)
	if p.family == 6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	var addr net.Addr = &net.UDPAddr{IP: dst.AsSlice()}
	if p.raw {
		addr = &net.IPAddr{IP: dst.AsSlice()}
	}
	var last time.Time
	for i := 0; i < p.in.cfg.PacketsPerTest; i++ {
		if i > 0 && !sleep(ctx, p.in.cfg.PacketsInterval) {
			return
		}
		seq := uint16(round<<8 | uint32(i))
		key := uint32(p.id)<<16 | uint32(seq)
		m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(p.id), Seq: int(seq), Data: p.buf}}
		b, err := m.Marshal(nil)
		if err != nil {
			continue
		}
		now := p.in.opts.Now()
		p.mu.Lock()
		p.pending[seq] = pending{key: key, sent: now}
		p.mu.Unlock()
		p.in.emit(&Event{Kind: KindSend, Type: TestPing, Target: target, ID: key, Time: now})
		if _, err := p.conn.WriteTo(b, addr); err != nil {
			p.mu.Lock()
			delete(p.pending, seq)
			p.mu.Unlock()
			p.in.emit(&Event{Kind: KindFail, Type: TestPing, Target: target, ID: key, Time: p.in.opts.Now(), Err: ErrSocket})
			continue
		}
		last = now
	}
	if last.IsZero() {
		return
	}
	if !sleep(ctx, time.Until(last.Add(p.in.cfg.Timeout))) {
		return
	}
	p.mu.Lock()
	var timedOut []pending
	for seq, pd := range p.pending {
		timedOut = append(timedOut, pd)
		delete(p.pending, seq)
	}
	p.mu.Unlock()
	for _, pd := range timedOut {
		p.in.emit(&Event{Kind: KindFail, Type: TestPing, Target: target, ID: pd.key, Time: p.in.opts.Now(), Err: ErrTimeout})
	}
}

func (p *pinger) read() {
	defer close(p.done)
	proto := 1
	if p.family == 6 {
		proto = 58
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		now := p.in.opts.Now()
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || (m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply) {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok {
			continue
		}
		p.mu.Lock()
		if p.raw && (uint16(echo.ID) != p.id || addrOf(from) != p.dst) {
			p.mu.Unlock()
			continue
		}
		seq := uint16(echo.Seq)
		pd, ok := p.pending[seq]
		if ok {
			delete(p.pending, seq)
		}
		target := p.target
		p.mu.Unlock()
		if ok {
			p.in.emit(&Event{Kind: KindRecv, Type: TestPing, Target: target, ID: pd.key, Time: now})
		}
	}
}

func addrOf(a net.Addr) netip.Addr {
	switch x := a.(type) {
	case *net.IPAddr:
		ip, _ := netip.AddrFromSlice(x.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(x.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
