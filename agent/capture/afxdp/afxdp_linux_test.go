//go:build linux

package afxdp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afxdp"
	"github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/bpf"
)

func TestRefusesHostInterface(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	err := v.Capture.NS.Do(func() error {
		s, err := afxdp.Open(afxdp.Options{Iface: v.Capture.Name})
		if err == nil {
			s.Close()
		}
		return err
	})
	if !errors.Is(err, afxdp.ErrHostInterface) || !strings.Contains(err.Error(), "10.231.0.1") {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}

// TestMixExact injects a known mix and expects every frame back byte for
// byte (XDP sees VLAN tags inline) and exact kernel counts, in native and
// generic mode.
func TestMixExact(t *testing.T) {
	for _, mode := range []bpf.XDPMode{bpf.XDPModeNative, bpf.XDPModeGeneric} {
		t.Run(fmt.Sprint("mode=", mode), func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, Mode: mode, AllowHostAddrs: true})
			t.Logf("attached %s, zero-copy %v", src.AttachMode(), src.ZeroCopy())
			mix := capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC)
			capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
			capturetest.CollectExactly(t, src, mix, capturetest.Identity, 300*time.Millisecond)
			st := src.Stats()
			if st.Received != 1000 || st.OSDrops != 0 || st.Kernel == nil || st.Kernel.Packets != 1000 || st.Kernel.Sampled != 1000 {
				t.Fatalf("stats %+v kernel %+v xdp %+v", st, st.Kernel, src.XDPStats())
			}
		})
	}
}

// TestPacedStream receives a stream sent while Next runs, so both ways of
// waiting for frames are taken: sleeping BatchDelay while a busy stream
// keeps finding frames, and poll when it pauses. Every frame must arrive,
// in order, with nothing dropped.
func TestPacedStream(t *testing.T) {
	for _, d := range []time.Duration{0, -1, time.Millisecond} {
		t.Run(fmt.Sprint("batch_delay=", d), func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, BatchDelay: d, AllowHostAddrs: true})
			mix := capturetest.Mix(3000, v.Peer.MAC, v.Capture.MAC)
			inj := v.Peer.OpenInjector(t)
			sent := make(chan error, 1)
			go func() {
				for i, f := range mix {
					if err := inj.Send(f.Data); err != nil {
						sent <- err
						return
					}
					if i%200 == 199 {
						time.Sleep(2 * time.Millisecond) // a pause: the next wait polls
					}
				}
				sent <- nil
			}()
			got, err := capturetest.Collect(src, len(mix), 100*time.Millisecond, 10*time.Second)
			if serr := <-sent; serr != nil {
				t.Fatal(serr)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := capturetest.Match(mix, got, capturetest.Identity); len(r.Missing) != 0 || len(r.Unexpected) != 0 {
				t.Fatalf("missing %s; %d unexpected", capturetest.KindCounts(r.Missing), len(r.Unexpected))
			}
			if st := src.Stats(); st.Received != uint64(len(mix)) || st.OSDrops != 0 {
				t.Fatalf("stats %+v xdp %+v", st, src.XDPStats())
			}
		})
	}
}

// TestMultiQueue binds a socket per queue of a multi-queue veth and still
// receives every frame, whichever queue it lands on.
func TestMultiQueue(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{RxQueues: 2})
	src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, AllowHostAddrs: true})
	if src.Queues() != 2 {
		t.Fatalf("%d sockets bound, want one per queue (2)", src.Queues())
	}
	mix := capturetest.Mix(500, v.Peer.MAC, v.Capture.MAC)
	capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
	capturetest.CollectExactly(t, src, mix, capturetest.Identity, 300*time.Millisecond)
}

// TestSampleRateZero keeps counting every frame while delivering none.
func TestSampleRateZero(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, AllowHostAddrs: true})
	if err := src.SetSampleRate(0); err != nil {
		t.Fatal(err)
	}
	capturetest.SendAll(t, v.Peer.OpenInjector(t), capturetest.Mix(300, v.Peer.MAC, v.Capture.MAC))
	got, err := capturetest.Collect(src, 1, 0, 300*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("delivered %d frames at rate 0 (%v)", len(got), err)
	}
	if k := src.Stats().Kernel; k.Packets != 300 || k.NotSampled != 300 {
		t.Fatalf("kernel %+v", k)
	}
}

func TestInterfaceGone(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, PollTimeout: 20 * time.Millisecond, AllowHostAddrs: true})
	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := capturetest.NextError(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceGone) {
		t.Fatal(err)
	}
}

const helperEnv = "VISOR_AFXDP_HELPER_IFACE"

// TestHelperProcess is not a test: TestSIGKILLLeavesNothing runs the test
// binary as a child inside the namespace to attach and then be killed.
func TestHelperProcess(t *testing.T) {
	capturetest.HelperProcess(t, helperEnv, func(iface string) (*afxdp.Source, error) {
		return afxdp.Open(afxdp.Options{Iface: iface, AllowHostAddrs: true})
	})
}

func TestSIGKILLLeavesNothing(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	h := capturetest.StartHelper(t, v.Capture.End, helperEnv)
	if !xdpAttached(t, v.Capture) {
		t.Fatal("no XDP program while the helper runs")
	}
	h.Kill(t)
	capturetest.WaitUntil(t, 3*time.Second, func() bool { return !xdpAttached(t, v.Capture) },
		"XDP program still attached after the owner was killed")
}

func xdpAttached(t *testing.T, e capturetest.End) bool {
	id, err := e.XDPProgID()
	if err != nil {
		t.Fatal(err)
	}
	return id != 0
}

func TestNextAllocs(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, AllowHostAddrs: true})
	capturetest.SendAll(t, v.Peer.OpenInjector(t), capturetest.Mix(600, v.Peer.MAC, v.Capture.MAC))
	capturetest.ExpectNoNextAllocs(t, src, nil)
}

// BenchmarkNext measures the hand-out rate of frames already in the RX
// ring, in bursts of up to 3000 (the ring holds 4096) injected with the
// timer stopped.
func BenchmarkNext(b *testing.B) {
	v := capturetest.NewVeth(b, capturetest.VethConfig{})
	src := capturetest.OpenIn(b, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, AllowHostAddrs: true})
	capturetest.BenchmarkBursts(b, src, v.Peer.OpenInjector(b), capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC), 3000)
	if st := src.Stats(); st.OSDrops != 0 {
		b.Fatalf("drops in a bounded burst: %+v %+v", st, src.XDPStats())
	}
}

// udpFrame is an Ethernet/IPv4/UDP frame of exactly size bytes whose
// payload starts with seq.
func udpFrame(size int, seq uint16, src, dst []byte) []byte {
	b := make([]byte, size)
	copy(b[0:6], dst)
	copy(b[6:12], src)
	b[12], b[13] = 0x08, 0x00
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(size-14))
	binary.BigEndian.PutUint16(ip[4:], seq)
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], []byte{10, 231, 0, 2})
	copy(ip[16:20], []byte{10, 231, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := b[34:42]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9999)
	binary.BigEndian.PutUint16(udp[4:], uint16(size-34))
	binary.BigEndian.PutUint16(b[42:], seq)
	for i := 44; i < size; i++ {
		b[i] = byte(i)
	}
	return b
}

// TestJumboFrags runs on a 9000-byte MTU, which needs multi-buffer XDP
// with 2 KiB frames: jumbo frames must be counted with their full length
// and delivered as their first buffer (the headers) with OrigLen the
// whole frame, small ones whole.
func TestJumboFrags(t *testing.T) {
	for _, mode := range []bpf.XDPMode{bpf.XDPModeNative, bpf.XDPModeGeneric} {
		t.Run(fmt.Sprint("mode=", mode), func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{MTU: 9000})
			src := capturetest.OpenIn(t, v.Capture.NS, afxdp.Open, afxdp.Options{Iface: v.Capture.Name, Mode: mode, AllowHostAddrs: true})
			t.Logf("attached %s, zero-copy %v", src.AttachMode(), src.ZeroCopy())
			const n = 200
			var sent [][]byte
			var total uint64
			for i := range n {
				size := 8000
				if i%2 == 1 {
					size = 100
				}
				f := udpFrame(size, uint16(i), v.Peer.MAC, v.Capture.MAC)
				sent = append(sent, f)
				total += uint64(size)
			}
			inj := v.Peer.OpenInjector(t)
			for _, f := range sent {
				if err := inj.Send(f); err != nil {
					t.Fatal(err)
				}
			}
			got, err := capturetest.Collect(src, n, 300*time.Millisecond, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("got %d frames, want %d; stats %+v xdp %+v", len(got), n, src.Stats(), src.XDPStats())
			}
			for i, g := range got {
				w := sent[i]
				if g.OrigLen != len(w) || len(g.Data) < 44 || !bytes.Equal(g.Data, w[:len(g.Data)]) {
					t.Fatalf("frame %d: %d of %d bytes (orig %d), want a prefix of the %d sent", i, len(g.Data), len(w), g.OrigLen, len(w))
				}
				if len(w) == 100 && len(g.Data) != 100 {
					t.Fatalf("small frame %d cut to %d bytes", i, len(g.Data))
				}
			}
			t.Logf("an 8000-byte frame arrives as its first %d bytes", len(got[0].Data))
			st := src.Stats()
			if st.Received != n || st.Bytes != total || st.OSDrops != 0 || st.Kernel == nil ||
				st.Kernel.Packets != n || st.Kernel.Bytes != total || st.Kernel.Sampled != n {
				t.Fatalf("stats %+v kernel %+v xdp %+v, want %d frames of %d bytes", st, st.Kernel, src.XDPStats(), n, total)
			}
		})
	}
}
