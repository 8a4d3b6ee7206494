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
	"github.com/visorng/visor/agent/capture/internal/nettest"
	"github.com/visorng/visor/agent/capture/libpcap"
	"github.com/visorng/visor/decode"
)

func openIn(t testing.TB, ns *nettest.NS, opts libpcap.Options) *libpcap.Source {
	t.Helper()
	var src *libpcap.Source
	err := ns.Do(func() error {
		var err error
		src, err = libpcap.Open(opts)
		return err
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func sendAll(t testing.TB, in *nettest.Injector, frames []nettest.TestFrame) {
	t.Helper()
	for _, f := range frames {
		if err := in.Send(f.Data); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCaptureAndFilter sends a known mix and expects exactly the frames that
// libpcap's own compiler accepts when run on the frames as sent (what a
// pcap file would give), and no drops.
func TestCaptureAndFilter(t *testing.T) {
	for _, expr := range []string{"", "udp dst port 53", "vlan 100 and udp dst port 53", "icmp or icmp6"} {
		t.Run(expr, func(t *testing.T) {
			v := nettest.NewVeth(t, nettest.VethConfig{})
			src := openIn(t, v.Capture.NS, libpcap.Options{Iface: v.Capture.Name, Filter: expr})
			if src.LinkType() != decode.LinkEthernet {
				t.Fatalf("link type %v", src.LinkType())
			}
			mix := nettest.Mix(1000, v.Peer.MAC, v.Capture.MAC)
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
			sendAll(t, v.Peer.OpenInjector(t), mix)
			got, err := nettest.Collect(src, len(want), 300*time.Millisecond, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := nettest.Match(want, got, nettest.Identity)
			if len(r.Missing) != 0 || len(r.Unexpected) != 0 || len(want) == 0 {
				t.Fatalf("want %d; matched %s; missing %s; %d unexpected", len(want), nettest.KindCounts(r.Matched), nettest.KindCounts(r.Missing), len(r.Unexpected))
			}
			t.Logf("matched %s", nettest.KindCounts(r.Matched))
			if st := src.Stats(); st.Path != "libpcap" || st.Received != uint64(len(want)) || st.OSDrops != 0 || st.IfDrops != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestInterfaceDownAndGone(t *testing.T) {
	v := nettest.NewVeth(t, nettest.VethConfig{})
	src := openIn(t, v.Capture.NS, libpcap.Options{Iface: v.Capture.Name, PollTimeout: 50 * time.Millisecond})
	if err := v.Capture.SetUp(false); err != nil {
		t.Fatal(err)
	}
	if err := nextErr(src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceDown) {
		t.Fatalf("after down: %v", err)
	}
	if err := v.Capture.SetUp(true); err != nil {
		t.Fatal(err)
	}
	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	err := nextErr(src, 3*time.Second)
	if !errors.Is(err, capture.ErrInterfaceGone) && !errors.Is(err, capture.ErrInterfaceDown) {
		t.Fatalf("after delete: %v", err)
	}
	t.Logf("after delete: %v", err)
}

func nextErr(src capture.Source, d time.Duration) error {
	var f capture.Frame
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		err := src.Next(&f)
		if err != nil && !errors.Is(err, capture.ErrTimeout) {
			return err
		}
	}
	return errors.New("no error before the deadline")
}

func TestNextAllocs(t *testing.T) {
	v := nettest.NewVeth(t, nettest.VethConfig{})
	src := openIn(t, v.Capture.NS, libpcap.Options{Iface: v.Capture.Name})
	sendAll(t, v.Peer.OpenInjector(t), nettest.Mix(600, v.Peer.MAC, v.Capture.MAC))
	time.Sleep(50 * time.Millisecond)
	var f capture.Frame
	if n := testing.AllocsPerRun(150, func() {
		if err := src.Next(&f); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Next allocates %v times per frame", n)
	}
}

// BenchmarkNext measures the hand-out rate of frames already queued, in
// bursts of up to 20000 injected with the timer stopped.
func BenchmarkNext(b *testing.B) {
	v := nettest.NewVeth(b, nettest.VethConfig{})
	src := openIn(b, v.Capture.NS, libpcap.Options{Iface: v.Capture.Name, BufferSize: 16 << 20})
	inj := v.Peer.OpenInjector(b)
	frames := nettest.Mix(1000, v.Peer.MAC, v.Capture.MAC)
	var f capture.Frame
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	for done := 0; done < b.N; {
		chunk := min(b.N-done, 20000)
		b.StopTimer()
		for i := range chunk {
			if err := inj.Send(frames[i%len(frames)].Data); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		for got := 0; got < chunk; {
			if err := src.Next(&f); err != nil {
				b.Fatalf("after %d of %d: %v; stats %+v", got, chunk, err, src.Stats())
			}
			got++
		}
		elapsed += time.Since(start)
		done += chunk
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
	if st := src.Stats(); st.OSDrops != 0 {
		b.Fatalf("drops in a bounded burst: %+v", st)
	}
}
