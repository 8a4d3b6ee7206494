//go:build linux

package afpacket_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/net/bpf"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afpacket"
	"github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/agent/filter"
	"github.com/visorng/visor/decode"
)

const mixSize = 1000

var otherMAC = net.HardwareAddr{0x02, 0xee, 0, 0, 0, 0x99}

// TestCaptureMix sends a known mix from the peer, plus frames leaving the
// capture interface itself, and expects exactly those frames back, byte for
// byte (VLAN tags included), with the kernel's direction and no drops.
func TestCaptureMix(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name})
	if src.LinkType() != decode.LinkEthernet {
		t.Fatalf("link type %v", src.LinkType())
	}

	in := capturetest.Mix(mixSize, v.Peer.MAC, v.Capture.MAC)
	// Frames to another MAC are only seen thanks to promiscuous mode.
	other := capturetest.Mix(40, v.Peer.MAC, otherMAC)[:40]
	for i := range other {
		other[i].Data = capturetest.Build(other[i].Kind, uint16(5000+i), v.Peer.MAC, otherMAC)
	}
	out := make([]capturetest.TestFrame, 0, 20)
	for i := range 20 {
		k := capturetest.Kinds()[i%len(capturetest.Kinds())]
		out = append(out, capturetest.TestFrame{Kind: k, Data: capturetest.Build(k, uint16(9000+i), v.Capture.MAC, v.Peer.MAC)})
	}
	capturetest.SendAll(t, v.Peer.OpenInjector(t), in)
	capturetest.SendAll(t, v.Peer.OpenInjector(t), other)
	capturetest.SendAll(t, v.Capture.OpenInjector(t), out)

	all := append(append(append([]capturetest.TestFrame{}, in...), other...), out...)
	got := capturetest.CollectExactly(t, src, all, capturetest.Identity, 200*time.Millisecond)

	// Direction: to our MAC ⇒ in, broadcast and other hosts ⇒ unknown,
	// leaving ⇒ out.
	dirs := map[decode.Direction]int{}
	for _, g := range got {
		dirs[g.Dir]++
	}
	bcastIn := mixSize/len(capturetest.Kinds()) + btoi(mixSize%len(capturetest.Kinds()) > int(capturetest.Broadcast))
	bcastOther := 40/len(capturetest.Kinds()) + btoi(40%len(capturetest.Kinds()) > int(capturetest.Broadcast))
	wantUnknown := bcastIn + 40
	_ = bcastOther
	wantOut := 20
	wantIn := len(all) - wantUnknown - wantOut
	if dirs[decode.DirIn] != wantIn || dirs[decode.DirOut] != wantOut || dirs[decode.DirUnknown] != wantUnknown {
		t.Errorf("directions %v, want in=%d out=%d unknown=%d", dirs, wantIn, wantOut, wantUnknown)
	}

	st := src.Stats()
	if st.Path != "af_packet" || st.Received != uint64(len(all)) || st.OSDrops != 0 {
		t.Errorf("stats %+v, want %d received and no drops", st, len(all))
	}
	var bytes uint64
	for _, f := range all {
		bytes += uint64(len(f.Data))
	}
	if st.Bytes != bytes {
		t.Errorf("bytes %d, want %d", st.Bytes, bytes)
	}
	if rs := src.RingStats(); rs.Packets != uint64(len(all)) || rs.Drops != 0 {
		t.Errorf("ring stats %+v", rs)
	}
	for _, g := range got {
		if time.Since(g.Time) > time.Minute || g.Time.After(time.Now()) {
			t.Fatalf("timestamp %v is not now", g.Time)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tcpdump -dd -y EN10MB 'udp dst port 53'
var udpDst53 = []bpf.RawInstruction{
	{Op: 0x28, K: 0x0c}, {Op: 0x15, Jf: 4, K: 0x86dd}, {Op: 0x30, K: 0x14}, {Op: 0x15, Jf: 11, K: 0x11},
	{Op: 0x28, K: 0x38}, {Op: 0x15, Jt: 8, Jf: 9, K: 0x35}, {Op: 0x15, Jf: 8, K: 0x0800}, {Op: 0x30, K: 0x17},
	{Op: 0x15, Jf: 6, K: 0x11}, {Op: 0x28, K: 0x14}, {Op: 0x45, Jt: 4, K: 0x1fff}, {Op: 0xb1, K: 0x0e},
	{Op: 0x48, K: 0x10}, {Op: 0x15, Jf: 1, K: 0x35}, {Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
}

// tcpdump -dd -y EN10MB 'vlan 100 and udp dst port 53'
var vlan100Udp53 = []bpf.RawInstruction{
	{Op: 0x28, K: 0x0c}, {Op: 0x15, Jt: 2, K: 0x8100}, {Op: 0x15, Jt: 1, K: 0x88a8}, {Op: 0x15, Jf: 20, K: 0x9100},
	{Op: 0x28, K: 0x0e}, {Op: 0x54, K: 0x0fff}, {Op: 0x15, Jf: 17, K: 0x64}, {Op: 0x28, K: 0x10},
	{Op: 0x15, Jf: 4, K: 0x86dd}, {Op: 0x30, K: 0x18}, {Op: 0x15, Jf: 13, K: 0x11}, {Op: 0x28, K: 0x3c},
	{Op: 0x15, Jt: 10, Jf: 11, K: 0x35}, {Op: 0x15, Jf: 10, K: 0x0800}, {Op: 0x30, K: 0x1b}, {Op: 0x15, Jf: 8, K: 0x11},
	{Op: 0x28, K: 0x18}, {Op: 0x45, Jt: 6, K: 0x1fff}, {Op: 0x50, K: 0x12}, {Op: 0x54, K: 0x0f},
	{Op: 0x64, K: 0x02}, {Op: 0x07}, {Op: 0x48, K: 0x14}, {Op: 0x15, Jf: 1, K: 0x35},
	{Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
}

// TestFilter attaches filters and checks the delivered kinds against what
// the same program decides on each sent frame in user space — the frame as
// on the wire, which is what a pcap file would be filtered on.
func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		prog []bpf.RawInstruction
	}{
		{"udp dst port 53", udpDst53},
		{"vlan 100 and udp dst port 53", vlan100Udp53},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insns, ok := bpf.Disassemble(tt.prog)
			if !ok {
				t.Fatal("disassemble")
			}
			vm, err := bpf.NewVM(insns)
			if err != nil {
				t.Fatal(err)
			}
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name, Filter: tt.prog})
			mix := capturetest.Mix(mixSize, v.Peer.MAC, v.Capture.MAC)
			var want []capturetest.TestFrame
			for _, f := range mix {
				if n, _ := vm.Run(f.Data); n > 0 {
					want = append(want, f)
				}
			}
			capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
			if len(want) == 0 {
				t.Fatal("no frame of the mix to expect")
			}
			capturetest.CollectExactly(t, src, want, capturetest.Identity, 300*time.Millisecond)
			if st := src.Stats(); st.Received != uint64(len(want)) || st.OSDrops != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestAgentFilter compiles tcpdump expressions with agent/filter, attaches
// them, and expects exactly the frames the same program's Match accepts on
// the frames as sent.
func TestAgentFilter(t *testing.T) {
	for _, expr := range []string{"udp port 53", "vlan and udp", "tcp[tcpflags] & tcp-syn != 0", "icmp or icmp6", "ip6", "not udp"} {
		t.Run(expr, func(t *testing.T) {
			prog, err := filter.New(expr, decode.LinkEthernet)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := prog.Raw()
			if err != nil {
				t.Fatal(err)
			}
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name, Filter: raw})
			mix := capturetest.Mix(mixSize, v.Peer.MAC, v.Capture.MAC)
			var want []capturetest.TestFrame
			for _, f := range mix {
				if prog.Match(f.Data, len(f.Data)) {
					want = append(want, f)
				}
			}
			capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
			if len(want) == 0 {
				t.Fatal("no frame of the mix to expect")
			}
			capturetest.CollectExactly(t, src, want, capturetest.Identity, 300*time.Millisecond)
		})
	}
}

// TestAnyInterface captures in cooked mode on every interface of the
// namespace, with a cooked filter the source rebases for the kernel.
func TestAnyInterface(t *testing.T) {
	// tcpdump -dd -y LINUX_SLL 'udp dst port 53'
	sll := []bpf.RawInstruction{
		{Op: 0x28, K: 0x0e}, {Op: 0x15, Jf: 4, K: 0x86dd}, {Op: 0x30, K: 0x16}, {Op: 0x15, Jf: 11, K: 0x11},
		{Op: 0x28, K: 0x3a}, {Op: 0x15, Jt: 8, Jf: 9, K: 0x35}, {Op: 0x15, Jf: 8, K: 0x0800}, {Op: 0x30, K: 0x19},
		{Op: 0x15, Jf: 6, K: 0x11}, {Op: 0x28, K: 0x16}, {Op: 0x45, Jt: 4, K: 0x1fff}, {Op: 0xb1, K: 0x10},
		{Op: 0x48, K: 0x12}, {Op: 0x15, Jf: 1, K: 0x35}, {Op: 0x6, K: 0x40000}, {Op: 0x6, K: 0},
	}
	for _, filtered := range []bool{false, true} {
		name := "all"
		if filtered {
			name = "udp dst port 53"
		}
		t.Run(name, func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			opts := afpacket.Options{Iface: afpacket.AnyInterface}
			if filtered {
				opts.Filter = sll
			}
			src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, opts)
			if src.LinkType() != decode.LinkLinuxSLL {
				t.Fatalf("link type %v", src.LinkType())
			}
			mix := capturetest.Mix(200, v.Peer.MAC, v.Capture.MAC)
			want := mix
			if filtered {
				want = nil
				for _, f := range mix {
					if f.Kind.IsUDPPort53() && f.Kind != capturetest.VLANDNS4 {
						want = append(want, f)
					}
				}
			}
			capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
			// Broadcast frames keep their own destination; rebuild per frame.
			view := func(g capturetest.Got) []byte {
				if len(g.Data) > 1 && g.Data[1] == 1 { // PACKET_BROADCAST
					return capturetest.FromSLL(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})(g)
				}
				return capturetest.FromSLL(v.Capture.MAC)(g)
			}
			capturetest.CollectExactly(t, src, want, view, 300*time.Millisecond)
		})
	}
}

// TestInterfaceDownAndGone checks that Next reports a downed interface, keeps
// capturing once it is up again, and reports a deleted one — promptly, not
// by hanging.
func TestInterfaceDownAndGone(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name, PollTimeout: 50 * time.Millisecond})

	if err := v.Capture.SetUp(false); err != nil {
		t.Fatal(err)
	}
	if err := capturetest.NextError(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceDown) {
		t.Fatalf("after down: %v", err)
	}
	if err := v.Capture.SetUp(true); err != nil {
		t.Fatal(err)
	}
	frame := capturetest.Build(capturetest.DNSUDP4, 1, v.Peer.MAC, v.Capture.MAC)
	inj := v.Peer.OpenInjector(t)
	// The carrier takes a moment to come back; resend until one arrives.
	var f capture.Frame
	deadline := time.Now().Add(5 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no frame after the interface came back up")
		}
		_ = inj.Send(frame)
		if err := src.Next(&f); err == nil {
			break
		} else if !errors.Is(err, capture.ErrTimeout) {
			t.Fatalf("after up: %v", err)
		}
	}

	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	err := capturetest.NextError(src, 2*time.Second)
	// Draining frames still in the ring is fine; the error must follow.
	if !errors.Is(err, capture.ErrInterfaceGone) {
		t.Fatalf("after delete: %v", err)
	}
	if err := src.Next(&f); !errors.Is(err, capture.ErrInterfaceGone) {
		t.Fatalf("gone is not sticky: %v", err)
	}
}

func TestDownedWhileDownThenDeleted(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name, PollTimeout: 20 * time.Millisecond})
	if err := v.Capture.SetUp(false); err != nil {
		t.Fatal(err)
	}
	if err := capturetest.NextError(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceDown) {
		t.Fatalf("after down: %v", err)
	}
	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := capturetest.NextError(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceGone) {
		t.Fatalf("after delete while down: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	err := v.Capture.NS.Do(func() error {
		_, err := afpacket.Open(afpacket.Options{Iface: "nope0"})
		return err
	})
	if err == nil {
		t.Fatal("opened a missing interface")
	}
}

// TestNextAllocs proves the per-frame path allocates nothing.
func TestNextAllocs(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name, Filter: udpDst53})
	mix := capturetest.Mix(600, v.Peer.MAC, v.Capture.MAC)
	capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
	time.Sleep(50 * time.Millisecond) // let the last block retire
	capturetest.ExpectNoNextAllocs(t, src, capture.ErrTimeout)
}

// BenchmarkNext measures how fast the source hands out frames already in
// the ring: bursts of up to 20000 frames are injected with the timer
// stopped, then read with it running. The sender, not the source, would be
// the bottleneck if both ran at once.
func BenchmarkNext(b *testing.B) {
	v := capturetest.NewVeth(b, capturetest.VethConfig{})
	src := capturetest.OpenIn(b, v.Capture.NS, afpacket.Open, afpacket.Options{Iface: v.Capture.Name, BlockCount: 16})
	capturetest.BenchmarkBursts(b, src, v.Peer.OpenInjector(b), capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC), 20000)
	if st := src.Stats(); st.OSDrops != 0 {
		b.Fatalf("drops in a bounded burst: %+v", st)
	}
}
