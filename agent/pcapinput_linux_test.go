//go:build linux

package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/agent/handler"
)

// The mix's destinations are in this host set, so every frame counts as
// "in" except the broadcast one (neither address is a host's).
const mixHosts = "198.51.100.0/24,2001:db8:100::/48"

// mixWant is what the net handler must count for the frames sent.
type mixWant struct {
	total, udp, tcp, otherL4, ipv4, ipv6, in, out, unknown, syn uint64
}

func wantOf(frames []capturetest.TestFrame) mixWant {
	var w mixWant
	for _, f := range frames {
		w.total++
		switch f.Kind {
		case capturetest.DNSUDP4, capturetest.VLANDNS4, capturetest.UDP4, capturetest.QinQUDP4, capturetest.Broadcast, capturetest.DNSUDP6:
			w.udp++
		case capturetest.DNSTCP4, capturetest.TCPSyn4, capturetest.TCPSyn6:
			w.tcp++
		default:
			w.otherL4++
		}
		switch f.Kind {
		case capturetest.DNSUDP6, capturetest.TCPSyn6, capturetest.ICMP6:
			w.ipv6++
		default:
			w.ipv4++
		}
		if f.Kind == capturetest.TCPSyn4 || f.Kind == capturetest.TCPSyn6 {
			w.syn++
		}
		if f.Kind == capturetest.Broadcast {
			w.unknown++
		} else {
			w.in++
		}
	}
	return w
}

// liveConfig is one tap on the capture end and one policy with a net
// handler only, so the kernel may sample when deep_sample_rate < 100.
func liveConfig(ifc, source string, rate int) string {
	return fmt.Sprintf(`
visor:
  taps:
    live:
      input_type: pcap
      config:
        iface: %s
        pcap_source: %s
        host_spec: "%s"
  policies:
    pol:
      kind: collection
      input:
        tap: live
        input_type: pcap
      handlers:
        window_config:
          num_periods: 5
          deep_sample_rate: %d
        modules:
          net:
            type: net
`, ifc, source, mixHosts, rate)
}

// startIn applies cfg with the capture namespace current, so the source
// opens there; its sockets and links stay in it afterwards.
func startIn(t *testing.T, v *capturetest.Veth, a *Agent, cfg string) {
	t.Helper()
	err := v.Capture.NS.Do(func() error {
		_, err := a.ApplyYAML([]byte(cfg))
		return err
	})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func pcapStreamOf(t *testing.T, a *Agent) *pcapStream {
	t.Helper()
	p, ok := a.Policy("pol")
	if !ok {
		t.Fatal("policy pol missing")
	}
	s, ok := p.input.stream.(*pcapStream)
	if !ok {
		t.Fatalf("input is %T", p.input.stream)
	}
	return s
}

// netCounters sums the net handler's counters over every bucket kept.
func netCounters(t *testing.T, a *Agent) (mixWant, uint64) {
	t.Helper()
	p, _ := a.Policy("pol")
	var got mixWant
	var deep uint64
	for period := 0; period < 5; period++ {
		obj, err := PolicyJSON(p, period, false)
		if err != nil {
			break
		}
		n := obj["pol-live-net"].(map[string]any)["packets"].(map[string]any)
		u := func(k string) uint64 { v, _ := n[k].(uint64); return v }
		got.total += u("total")
		got.udp += u("udp")
		got.tcp += u("tcp")
		got.otherL4 += u("other_l4")
		got.ipv4 += u("ipv4")
		got.ipv6 += u("ipv6")
		got.in += u("in")
		got.out += u("out")
		got.unknown += u("unknown_dir")
		got.syn += n["protocol"].(map[string]any)["tcp"].(map[string]any)["syn"].(uint64)
		deep += u("deep_samples")
	}
	return got, deep
}

// sendMix injects n frames from the peer and waits until the net handler
// has counted the frames keep selects (nil: all), or a deadline passes,
// then a little longer so a surplus would show.
func sendMix(t *testing.T, v *capturetest.Veth, a *Agent, n int, keep func(capturetest.Kind) bool) (mixWant, mixWant, uint64) {
	t.Helper()
	frames := capturetest.Mix(n, v.Peer.MAC, v.Capture.MAC)
	inj := v.Peer.OpenInjector(t)
	for _, f := range frames {
		if err := inj.Send(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	var sel []capturetest.TestFrame
	for _, f := range frames {
		if keep == nil || keep(f.Kind) {
			sel = append(sel, f)
		}
	}
	want := wantOf(sel)
	deadline := time.Now().Add(10 * time.Second)
	var got mixWant
	for time.Now().Before(deadline) {
		got, _ = netCounters(t, a)
		if got.total >= want.total {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	got, deep := netCounters(t, a)
	return want, got, deep
}

func newLiveAgent(t *testing.T, inputs map[string]InputFactory) *Agent {
	a := New(Options{Inputs: inputs})
	t.Cleanup(a.Close)
	return a
}

// dropAddrs leaves the capture end without addresses, as a mirror port.
func dropAddrs(t *testing.T, e *capturetest.End) {
	t.Helper()
	nl := e.NS.Netlink()
	l, err := nl.LinkByIndex(e.Index)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := nl.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range addrs {
		if err := nl.AddrDel(l, &ad); err != nil {
			t.Fatalf("remove %s: %v", ad.IPNet, err)
		}
	}
}

func TestLivePathsCountExactly(t *testing.T) {
	capturetest.RequireRoot(t)
	const frames = 3000
	cases := []struct {
		source, path string
		rate         int
		mirror       bool // capture end without addresses
	}{
		{"xdp", "xdp", 10, true},
		{"tc", "tc", 10, false},
		{"af_packet", "af_packet", 100, false},
		{"auto", "xdp", 100, true},
	}
	for _, c := range cases {
		t.Run(c.source, func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			if c.mirror {
				dropAddrs(t, &v.Capture)
			}
			a := newLiveAgent(t, nil)
			startIn(t, v, a, liveConfig(v.Capture.Name, c.source, c.rate))
			s := pcapStreamOf(t, a)
			if s.path != c.path {
				t.Fatalf("path %q, want %q (rejected %v)", s.path, c.path, s.rejected)
			}
			want, got, deep := sendMix(t, v, a, frames, nil)
			if got != want {
				t.Errorf("net counters\n got %+v\nwant %+v", got, want)
			}
			st := s.stats.load()
			if s.kernel != nil {
				if r := s.kernel.rate(); r != c.rate {
					t.Errorf("kernel sample rate %d, want %d", r, c.rate)
				}
			}
			share := float64(deep) / frames
			t.Logf("%s: deep_samples %d of %d (%.1f%%), delivered to user space %d", c.source, deep, frames, 100*share, st.Received)
			if c.rate == 100 && deep != frames {
				t.Errorf("deep_samples %d, want all %d", deep, frames)
			}
			// Per-flow sampling: the mix's ICMP frames share one flow per
			// family, so the share is lumpy around the rate.
			if c.rate == 10 && (share < 0.03 || share > 0.30) {
				t.Errorf("deep share %.3f, want about 0.10", share)
			}
		})
	}
}

func TestAutoPicksTCOnHostInterface(t *testing.T) {
	capturetest.RequireRoot(t)
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	a := newLiveAgent(t, nil)
	startIn(t, v, a, liveConfig(v.Capture.Name, "auto", 100))
	s := pcapStreamOf(t, a)
	if s.path != "tc" || len(s.rejected) != 1 || s.rejected[0].Path != "xdp" ||
		!strings.Contains(s.rejected[0].Reason, "host addresses") {
		t.Fatalf("path %q, rejected %+v", s.path, s.rejected)
	}
	info := a.InputInfos()
	found := false
	for _, in := range info {
		c := in.(map[string]any)["capture"].(map[string]any)
		if c["path"] == "tc" && len(c["rejected"].([]Rejection)) == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("app metrics do not report tc with xdp's rejection: %v", info)
	}
	want, got, _ := sendMix(t, v, a, 1100, nil)
	if got != want {
		t.Errorf("net counters\n got %+v\nwant %+v", got, want)
	}
}

func TestAutoFallsToAFPacketWhenTCFails(t *testing.T) {
	capturetest.RequireRoot(t)
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	openers := liveOpeners()
	errTC := errors.New("tc attach refused (test)")
	openers[sourceTC] = func(liveSpec) (capture.Source, error) { return nil, errTC }
	inputs := Inputs()
	f := inputs["pcap"]
	f.New = func(name string, cfg handler.Config, env InputEnv) (Stream, error) {
		return newPcapStreamWith(openers, name, cfg, env)
	}
	inputs["pcap"] = f
	a := newLiveAgent(t, inputs)
	startIn(t, v, a, liveConfig(v.Capture.Name, "auto", 100))
	s := pcapStreamOf(t, a)
	if s.path != "af_packet" || len(s.rejected) != 2 || s.rejected[0].Path != "xdp" ||
		s.rejected[1].Path != "tc" || s.rejected[1].Reason != errTC.Error() {
		t.Fatalf("path %q, rejected %+v", s.path, s.rejected)
	}
	want, got, _ := sendMix(t, v, a, 1100, nil)
	if got != want {
		t.Errorf("net counters\n got %+v\nwant %+v", got, want)
	}
}

// TestKernelFilter: the tap's filter runs in the kernel; the handler
// counts exactly the frames it selects, and nothing else reaches user space.
// (A port filter avoids VLAN frames: on tc the kernel judges them untagged,
// on af_packet as on the wire, as tcpdump -r does.)
func TestKernelFilter(t *testing.T) {
	capturetest.RequireRoot(t)
	for _, source := range []string{"tc", "af_packet"} {
		t.Run(source, func(t *testing.T) {
			v := capturetest.NewVeth(t, capturetest.VethConfig{})
			a := newLiveAgent(t, nil)
			cfg := strings.Replace(liveConfig(v.Capture.Name, source, 100), "        host_spec:", "        bpf: tcp port 80\n        host_spec:", 1)
			startIn(t, v, a, cfg)
			s := pcapStreamOf(t, a)
			keep := func(k capturetest.Kind) bool { return k == capturetest.TCPSyn4 || k == capturetest.TCPSyn6 }
			want, got, _ := sendMix(t, v, a, 1100, keep)
			if got != want {
				t.Errorf("net counters\n got %+v\nwant %+v", got, want)
			}
			if d := s.in.Counters.Delivered.Load(); d != want.total {
				t.Errorf("user space got %d frames, want only the %d selected", d, want.total)
			}
		})
	}
}

// TestInterfaceGoneStopsInput: deleting the capture interface ends the
// input with an error naming it, reported in the input's info.
func TestInterfaceGoneStopsInput(t *testing.T) {
	capturetest.RequireRoot(t)
	v := capturetest.NewVeth(t, capturetest.VethConfig{})
	a := newLiveAgent(t, nil)
	startIn(t, v, a, liveConfig(v.Capture.Name, "tc", 100))
	if err := v.Capture.Delete(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, in := range a.InputInfos() {
			c := in.(map[string]any)["capture"].(map[string]any)
			if e, ok := c["error"].(string); ok {
				if !strings.Contains(e, v.Capture.Name) || !strings.Contains(e, "removed") {
					t.Fatalf("error %q does not name the interface and the cause", e)
				}
				if in.(map[string]any)["input"].(map[string]any)["running"] == false {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("input did not stop after its interface was deleted")
}
