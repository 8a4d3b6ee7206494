//go:build libpcap && cgo && linux

package libpcap_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/agent/capture/libpcap"
	"github.com/visorng/visor/decode"
)

// TestCaptureAndFilter sends a known mix and expects exactly the frames that
// libpcap's own compiler accepts when run on the frames as sent (what a
// pcap file would give), and no drops.
func TestCaptureAndFilter(t *testing.T) {
	for _, expr := range []string{"", "udp dst port 53", "vlan 100 and udp dst port 53", "icmp or icmp6"} {
		t.Run(expr, func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			src := capturetest.OpenIn(t, v.Capture.NS, libpcap.Open, libpcap.Options{Iface: v.Capture.Name, Filter: expr})
			if src.LinkType() != decode.LinkEthernet {
				t.Fatalf("link type %v", src.LinkType())
			}
			mix := capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC)
			want := mix
			if expr != "" {
				bpf, err := pcap.NewBPF(layers.LinkTypeEthernet, 65535, expr)
				if err != nil {
					t.Fatal(err)
				}
				want = nil
				for _, f := range mix {
					ci := gopacket.CaptureInfo{CaptureLength: len(f.Data), Length: len(f.Data)}
					if bpf.Matches(ci, f.Data) {
						want = append(want, f)
					}
				}
			}
			capturetest.SendAll(t, v.Peer.OpenInjector(t), mix)
			if len(want) == 0 {
				t.Fatal("no frame of the mix to expect")
			}
			capturetest.CollectExactly(t, src, want, capturetest.Identity, 300*time.Millisecond)
			if st := src.Stats(); st.Path != "libpcap" || st.Received != uint64(len(want)) || st.OSDrops != 0 || st.IfDrops != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestInterfaceDownAndGone(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, libpcap.Open, libpcap.Options{Iface: v.Capture.Name, PollTimeout: 50 * time.Millisecond})
	if err := v.Capture.SetUp(false); err != nil {
		t.Fatal(err)
	}
	if err := capturetest.NextError(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceDown) {
		t.Fatalf("after down: %v", err)
	}
	if err := v.Capture.SetUp(true); err != nil {
		t.Fatal(err)
	}
	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	err := capturetest.NextError(src, 3*time.Second)
	if !errors.Is(err, capture.ErrInterfaceGone) && !errors.Is(err, capture.ErrInterfaceDown) {
		t.Fatalf("after delete: %v", err)
	}
	t.Logf("after delete: %v", err)
}

func TestNextAllocs(t *testing.T) {
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	src := capturetest.OpenIn(t, v.Capture.NS, libpcap.Open, libpcap.Options{Iface: v.Capture.Name})
	capturetest.SendAll(t, v.Peer.OpenInjector(t), capturetest.Mix(600, v.Peer.MAC, v.Capture.MAC))
	time.Sleep(50 * time.Millisecond)
	capturetest.ExpectNoNextAllocs(t, src, nil)
}

// BenchmarkNext measures the hand-out rate of frames already queued, in
// bursts of up to 20000 injected with the timer stopped.
func BenchmarkNext(b *testing.B) {
	v := capturetest.NewVeth(b, capturetest.VethConfig{})
	src := capturetest.OpenIn(b, v.Capture.NS, libpcap.Open, libpcap.Options{Iface: v.Capture.Name, BufferSize: 16 << 20})
	capturetest.BenchmarkBursts(b, src, v.Peer.OpenInjector(b), capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC), 20000)
	if st := src.Stats(); st.OSDrops != 0 {
		b.Fatalf("drops in a bounded burst: %+v", st)
	}
}
