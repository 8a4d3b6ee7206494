//go:build linux

package capturetest

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/test/capture/vethnet"
)

// TestTCDeliversEverything runs a UDP echo across the veth while the TC
// source captures on the echo side: every datagram and every echo must
// arrive, and the kernel must count each of them on its way in and out.
func TestTCDeliversEverything(t *testing.T) {
	const n = 500
	capAddr, peerAddr := netip.MustParseAddr("10.234.0.1"), netip.MustParseAddr("10.234.0.2")
	v := newPair(t, vethnet.Config{
		CaptureAddrs: []netip.Prefix{netip.PrefixFrom(capAddr, 24)},
		PeerAddrs:    []netip.Prefix{netip.PrefixFrom(peerAddr, 24)},
	})
	// Static neighbours: no ARP, so every frame on the link is a datagram.
	if err := v.Capture.StaticNeighbor(peerAddr, v.Peer.MAC); err != nil {
		t.Fatal(err)
	}
	if err := v.Peer.StaticNeighbor(capAddr, v.Capture.MAC); err != nil {
		t.Fatal(err)
	}
	p := path{name: "tc+ring", deep: true, kernel: true, open: func(ifname string) (capture.Source, error) {
		return tcring.Open(tcring.Options{Iface: ifname, BPF: bpf.Options{SampleRate: 100}, PollTimeout: 20 * time.Millisecond})
	}}
	src := openIn(t, &v.Capture, p)

	var echo, client *net.UDPConn
	if err := v.Capture.NS.Do(func() (err error) {
		echo, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(capAddr, 7007)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			k, from, err := echo.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			echo.WriteToUDPAddrPort(buf[:k], from)
		}
	}()
	if err := v.Peer.NS.Do(func() (err error) {
		client, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(capAddr, 7007)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	got := map[string]bool{}
	buf := make([]byte, 1500)
	for i := range n {
		msg := fmt.Sprintf("visor-echo-%04d", i)
		if _, err := client.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		// Lock step keeps socket buffers out of the question: a missing
		// echo can only be the capture's fault.
		client.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, err := client.Read(buf)
		if err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
		got[string(buf[:k])] = true
	}
	if len(got) != n {
		t.Fatalf("%d distinct echoes, want %d", len(got), n)
	}
	sec, in := runPipeline(t, src, 2*n, 10*time.Second)
	k := src.Stats().Kernel
	if k == nil || k.Packets != 2*n || k.UDP != 2*n || k.Sampled != 2*n || k.RingFailures != 0 {
		t.Fatalf("kernel counters %+v, want %d UDP packets all sampled", k, 2*n)
	}
	if f := in.Counters.Frames.Load(); f != 2*n {
		t.Errorf("user space got %d frames, want %d", f, 2*n)
	}
	if tot, _ := sec.Uint("udp"); tot != 2*n {
		t.Errorf("net handler udp = %d, want %d", tot, 2*n)
	}
	if st, err := v.Peer.Stats(); err != nil || st.RxDropped != 0 || st.TxDropped != 0 {
		t.Errorf("peer link stats %+v, %v", st, err)
	}
}
