//go:build linux

package tcring_test

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
)

// onWire is what TC reports of a sent frame: the record has no TPID, so a
// QinQ outer tag comes back as 802.1Q.
func onWire(frames []capturetest.TestFrame) []capturetest.TestFrame {
	out := make([]capturetest.TestFrame, len(frames))
	for i, f := range frames {
		out[i] = f
		if f.Kind == capturetest.QinQUDP4 {
			d := append([]byte(nil), f.Data...)
			d[12], d[13] = 0x81, 0x00
			out[i].Data = d
		}
	}
	return out
}

// TestSparseRecordsFlow checks that records below the wakeup threshold
// (submitted without a wakeup) still reach a reader blocked in Next within
// about FlushInterval, however long PollTimeout is, and that the kernel's
// per-record wakeups still work when asked for.
func TestSparseRecordsFlow(t *testing.T) {
	for _, every := range []bool{false, true} {
		t.Run(fmt.Sprint("wake_every_record=", every), func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name, PollTimeout: 5 * time.Second, FlushInterval: 20 * time.Millisecond, WakeEveryRecord: every})
			inj := v.Peer.OpenInjector(t)
			mix := capturetest.Mix(5, v.Peer.MAC, v.Capture.MAC)
			var f capture.Frame
			for i, m := range mix {
				if err := inj.Send(m.Data); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if err := src.Next(&f); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				// Generous for a loaded machine, far below PollTimeout.
				if d := time.Since(start); d > time.Second {
					t.Fatalf("frame %d took %v to arrive", i, d)
				}
			}
		})
	}
}

// TestThresholdWakes checks the kernel side of batching: once the pending
// records cross the wakeup threshold (an eighth of a 64 KiB ring here) the
// reader is woken at once, long before its 5 s flush deadline.
func TestThresholdWakes(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name, PollTimeout: 10 * time.Second, FlushInterval: 5 * time.Second, BPF: bpf.Options{RingBytes: 64 << 10}})
	mix := capturetest.Mix(200, v.Peer.MAC, v.Capture.MAC)
	var f capture.Frame
	// Wait first, so the reader is asleep in epoll when the records come.
	got := make(chan error, 1)
	go func() { got <- src.Next(&f) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no wakeup after crossing the threshold")
	}
	t.Logf("woken %v after the first send", time.Since(start))
	for i := 1; i < len(mix); i++ {
		if err := src.Next(&f); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if st := src.Stats(); st.Received != uint64(len(mix)) || st.OSDrops != 0 {
		t.Fatalf("stats %+v kernel %+v", st, st.Kernel)
	}
}

// TestMixExact injects a known mix and expects every frame back, byte for
// byte, as ingress, and kernel counts that match the mix exactly.
func TestMixExact(t *testing.T) {
	for _, mode := range []tcring.AttachMode{tcring.AttachTCX, tcring.AttachLegacy} {
		t.Run(fmt.Sprint("attach=", mode), func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name, Attach: mode})
			mix := capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC)
			capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
			got := capturetest.CollectExactly(t, src, onWire(mix), capturetest.Identity, 300*time.Millisecond)
			for _, g := range got {
				if g.Dir != decode.DirIn {
					t.Fatalf("direction %v for an ingress frame", g.Dir)
				}
				if time.Since(g.Time) > time.Minute || g.Time.After(time.Now().Add(time.Second)) {
					t.Fatalf("timestamp %v is not now", g.Time)
				}
			}
			st := src.Stats()
			k := st.Kernel
			if k == nil {
				t.Fatal("no kernel counters")
			}
			want := map[string][2]uint64{
				"received": {st.Received, 1000}, "packets": {k.Packets, 1000}, "sampled": {k.Sampled, 1000},
				"ring failures": {k.RingFailures, 0}, "os drops": {st.OSDrops, 0}, "filtered": {k.Filtered, 0},
			}
			var udp, tcp, icmp, v6 uint64
			for _, f := range mix {
				switch f.Kind {
				case capturetest.DNSUDP4, capturetest.UDP4, capturetest.DNSUDP6, capturetest.VLANDNS4, capturetest.QinQUDP4, capturetest.Broadcast:
					udp++
				case capturetest.DNSTCP4, capturetest.TCPSyn4, capturetest.TCPSyn6:
					tcp++
				case capturetest.ICMP4, capturetest.ICMP6:
					icmp++
				}
				switch f.Kind {
				case capturetest.DNSUDP6, capturetest.TCPSyn6, capturetest.ICMP6:
					v6++
				}
			}
			want["udp"] = [2]uint64{k.UDP, udp}
			want["tcp"] = [2]uint64{k.TCP, tcp}
			want["icmp"] = [2]uint64{k.ICMP, icmp}
			want["ipv6"] = [2]uint64{k.IPv6, v6}
			want["ipv4"] = [2]uint64{k.IPv4, 1000 - v6}
			for name, gw := range want {
				if gw[0] != gw[1] {
					t.Errorf("%s = %d, want %d", name, gw[0], gw[1])
				}
			}
			if src.AttachMode() != map[tcring.AttachMode]string{tcring.AttachTCX: "tcx", tcring.AttachLegacy: "legacy"}[mode] {
				t.Errorf("attach mode %q", src.AttachMode())
			}
		})
	}
}

// TestLegacyCleanup checks Close removes the clsact qdisc it created.
func TestLegacyCleanup(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	var src *tcring.Source
	if err := v.Capture.NS.Do(func() error {
		var err error
		src, err = tcring.Open(tcring.Options{Iface: v.Capture.Name, Attach: tcring.AttachLegacy})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := clsactCount(t, v.Capture); n != 1 {
		t.Fatalf("%d clsact qdiscs while attached", n)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if n := clsactCount(t, v.Capture); n != 0 {
		t.Fatalf("%d clsact qdiscs after Close", n)
	}
}

func clsactCount(t *testing.T, e capturetest.End) int {
	l, err := e.NS.Netlink().LinkByIndex(e.Index)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := e.NS.Netlink().QdiscList(l)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range qs {
		if q.Type() == "clsact" {
			n++
		}
	}
	return n
}

// TestDeliversWhileCapturing runs ping and a UDP echo through the captured
// interface: every packet must reach its destination, and the source must
// see each one exactly once, on the right hook.
func TestDeliversWhileCapturing(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name})

	const port, n = 7777, 200
	var srv *net.UDPConn
	if err := v.Capture.NS.Do(func() error {
		var err error
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: v.Capture.Addr4.Addr().AsSlice(), Port: port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			m, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			srv.WriteToUDP(buf[:m], from)
		}
	}()
	var cli *net.UDPConn
	if err := v.Peer.NS.Do(func() error {
		var err error
		cli, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: v.Capture.Addr4.Addr().AsSlice(), Port: port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	// Drain the source concurrently so the ring never fills.
	type result struct {
		got []capturetest.Got
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := capturetest.Collect(src, 2*n+2*20, 500*time.Millisecond, 20*time.Second)
		done <- result{got, err}
	}()

	buf := make([]byte, 64)
	for i := range n {
		msg := fmt.Sprintf("echo-%04d", i)
		cli.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := cli.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		m, err := cli.Read(buf)
		if err != nil || string(buf[:m]) != msg {
			t.Fatalf("echo %d: %q, %v", i, buf[:m], err)
		}
	}
	if err := pingN(v.Peer.NS, v.Capture.Addr4.Addr().AsSlice(), 20); err != nil {
		t.Fatalf("ping through the captured interface: %v", err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	var udpIn, udpOut, icmpIn, icmpOut, other int
	var p decode.Packet
	for _, g := range res.got {
		_ = decode.Decode(g.LinkType, g.Data, &p)
		switch {
		case p.L4 == decode.L4UDP && (p.SrcPort == port || p.DstPort == port):
			if g.Dir == decode.DirIn {
				udpIn++
			} else {
				udpOut++
			}
		case p.L4 == decode.L4ICMP:
			if g.Dir == decode.DirIn {
				icmpIn++
			} else {
				icmpOut++
			}
		default:
			other++ // ARP
		}
	}
	if udpIn != n || udpOut != n || icmpIn != 20 || icmpOut != 20 {
		t.Fatalf("udp in/out %d/%d, icmp in/out %d/%d (other %d); want %d/%d and 20/20", udpIn, udpOut, icmpIn, icmpOut, other, n, n)
	}
	st := src.Stats()
	if st.Kernel.Packets != st.Received || st.Kernel.RingFailures != 0 {
		t.Fatalf("kernel saw %d, delivered %d, ring failures %d", st.Kernel.Packets, st.Received, st.Kernel.RingFailures)
	}
}

func TestInterfaceGone(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name, PollTimeout: 20 * time.Millisecond})
	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := capturetest.NextError(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceGone) {
		t.Fatal(err)
	}
}

const helperEnv = "VISOR_TCRING_HELPER_IFACE"

// TestHelperProcess is not a test: TestSIGKILLLeavesNothing runs the test
// binary as a child inside the namespace to attach and then be killed.
func TestHelperProcess(t *testing.T) {
	capturetest.HelperProcess(t, helperEnv, func(iface string) (*tcring.Source, error) {
		return tcring.Open(tcring.Options{Iface: iface, Attach: tcring.AttachTCX})
	})
}

func TestSIGKILLLeavesNothing(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	h := capturetest.StartHelper(t, v.Capture.End, helperEnv)
	if n := tcxPrograms(t, v.Capture); n != 2 {
		t.Fatalf("%d tcx programs while the helper runs, want 2", n)
	}
	h.Kill(t)
	capturetest.WaitUntil(t, 3*time.Second, func() bool { return tcxPrograms(t, v.Capture) == 0 },
		"tcx programs still attached after the owner was killed")
}

func tcxPrograms(t *testing.T, e capturetest.End) int {
	n, err := capturetest.TCXPrograms(e.End)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNextAllocs(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name})
	capturetest.SendAll(t, v.Peer.OpenInjector(t), capturetest.Mix(600, v.Peer.MAC, v.Capture.MAC))
	capturetest.ExpectNoNextAllocs(t, src, nil)
}

// BenchmarkNext measures the hand-out rate of records already in the ring,
// in bursts of up to 20000 frames injected with the timer stopped.
func BenchmarkNext(b *testing.B) {
	v := capturetest.NewVeth(b, capturetest.VethConfig{})
	src := capturetest.OpenIn(b, v.Capture.NS, tcring.Open, tcring.Options{Iface: v.Capture.Name})
	capturetest.BenchmarkBursts(b, src, v.Peer.OpenInjector(b), capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC), 20000)
	if st := src.Stats(); st.OSDrops != 0 {
		b.Fatalf("ring failures in a bounded burst: %+v", st.Kernel)
	}
}

// pingN sends n ICMP echo requests from inside ns and waits for each reply.
func pingN(ns *capturetest.NS, dst net.IP, n int) error {
	var c *icmp.PacketConn
	if err := ns.Do(func() error {
		var err error
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for i := range n {
		req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x5a5a, Seq: i, Data: []byte("visor")}}
		b, err := req.Marshal(nil)
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(b, &net.IPAddr{IP: dst}); err != nil {
			return err
		}
		for {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			m, _, err := c.ReadFrom(buf)
			if err != nil {
				return fmt.Errorf("echo %d: %w", i, err)
			}
			rep, err := icmp.ParseMessage(1, buf[:m])
			if err != nil {
				return err
			}
			if e, ok := rep.Body.(*icmp.Echo); ok && rep.Type == ipv4.ICMPTypeEchoReply && e.Seq == i {
				break
			}
		}
	}
	return nil
}
