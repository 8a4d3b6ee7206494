//go:build linux

package capturetest

import (
	"encoding/json"
	"testing"
	"time"

	harness "github.com/visorng/visor/agent/capture/capturetest"
)

// TestMixCounts sends a known mix over a veth pair to each path and checks
// the kernel's counters and the net handler's totals exactly.
func TestMixCounts(t *testing.T) {
	const n = 2000
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			v := newPair(t, vethConfig())
			src := openIn(t, &v.Capture, p)
			frames, want := buildMix(n, v.Peer.MAC, v.Capture.MAC)
			sendAll(t, harness.OpenInjector(t, &v.Peer), frames)
			deep := uint64(0)
			if p.deep {
				deep = n
			}
			sec, in := runPipeline(t, src, deep, 10*time.Second)
			st := src.Stats()
			if got := in.Counters.Frames.Load(); got != deep {
				t.Errorf("user space got %d frames, want %d (stats %+v)", got, deep, st)
			}
			if p.kernel {
				k := st.Kernel
				if k == nil {
					t.Fatal("no kernel counters")
				}
				got := expected{Packets: k.Packets, Bytes: want.Bytes, IPv4: k.IPv4, IPv6: k.IPv6, UDP: k.UDP, TCP: k.TCP, ICMP: k.ICMP, DNSPort: k.DNSPort, TCPSyn: k.TCPSyn}
				if p.name != "tc+ring" {
					// TC sees offloaded VLAN tags outside the frame, so
					// its byte count lacks them; XDP counts the wire.
					got.Bytes = k.Bytes
				}
				if got != want {
					t.Errorf("kernel counters\n got %+v\nwant %+v", got, want)
				}
				if k.OtherL3 != 0 || k.OtherL4 != 0 || k.Fragments != 0 || k.Filtered != 0 || k.RingFailures != 0 {
					t.Errorf("unexpected kernel counts: %+v", k)
				}
				if k.Sampled != deep || k.NotSampled != n-deep {
					t.Errorf("kernel fates: sampled %d, not sampled %d; want %d, %d", k.Sampled, k.NotSampled, deep, n-deep)
				}
			}
			if st.OSDrops != 0 {
				t.Errorf("source dropped %d frames", st.OSDrops)
			}
			if !p.deep {
				return
			}
			for _, c := range []struct {
				key  string
				want uint64
			}{
				{"total", want.Packets}, {"udp", want.UDP}, {"tcp", want.TCP}, {"other_l4", want.ICMP},
				{"ipv4", want.IPv4}, {"ipv6", want.IPv6}, {"protocol.tcp.syn", want.TCPSyn},
			} {
				if got, ok := sec.Uint(c.key); !ok || got != c.want {
					t.Errorf("net handler %s = %d (present %v), want %d", c.key, got, ok, c.want)
				}
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(sec, "", " ")
				t.Logf("net section: %s", b)
			}
		})
	}
}
