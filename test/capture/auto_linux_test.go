//go:build linux

package capturetest

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afpacket"
	"github.com/visorng/visor/agent/capture/afxdp"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/test/capture/vethnet"
)

// The agent's own `pcap_source: auto` walk (agent/pcapinput.go) is
// unexported and, until the control plane wires the xdp and tc openers,
// reports them as not built. This test drives the same walk over the
// sources' real probes — open and attach in order xdp, tc, af_packet, take
// the first that works, keep every rejection's reason — and makes paths
// unavailable the ways a host does.
type rejection struct{ path, reason string }

func autoOpen(e *vethnet.End, allowHostAddrs bool) (string, []rejection, error) {
	order := []struct {
		name string
		open func() (capture.Source, error)
	}{
		{"xdp", func() (capture.Source, error) {
			return afxdp.Open(afxdp.Options{Iface: e.Name, AllowHostAddrs: allowHostAddrs, PollTimeout: 20 * time.Millisecond})
		}},
		{"tc", func() (capture.Source, error) {
			return tcring.Open(tcring.Options{Iface: e.Name, PollTimeout: 20 * time.Millisecond})
		}},
		{"af_packet", func() (capture.Source, error) {
			return afpacket.Open(afpacket.Options{Iface: e.Name, PollTimeout: 20 * time.Millisecond})
		}},
	}
	var rej []rejection
	for _, o := range order {
		var src capture.Source
		err := e.NS.Do(func() (err error) { src, err = o.open(); return err })
		if err == nil {
			return o.name, rej, src.Close()
		}
		rej = append(rej, rejection{o.name, err.Error()})
	}
	return "", rej, errors.New("no path")
}

func TestAutoFallback(t *testing.T) {
	t.Run("capture port picks xdp", func(t *testing.T) {
		v := newPair(t, vethConfig())
		got, rej, err := autoOpen(&v.Capture, false)
		if err != nil || got != "xdp" || len(rej) != 0 {
			t.Fatalf("auto = %q, rejected %v, %v", got, rej, err)
		}
	})
	t.Run("host addresses refuse xdp, pick tc", func(t *testing.T) {
		v := newPair(t, vethnet.Config{CaptureAddrs: []netip.Prefix{netip.MustParsePrefix("10.235.0.1/24")}})
		got, rej, err := autoOpen(&v.Capture, false)
		if err != nil || got != "tc" || len(rej) != 1 || rej[0].path != "xdp" || !strings.Contains(rej[0].reason, "10.235.0.1") {
			t.Fatalf("auto = %q, rejected %v, %v", got, rej, err)
		}
		t.Logf("xdp rejected: %s", rej[0].reason)
	})
	t.Run("xdp hook taken by another program, pick tc", func(t *testing.T) {
		v := newPair(t, vethConfig())
		// Another owner's XDP program on the interface: links are
		// exclusive, so the agent cannot attach its own.
		err := v.Capture.NS.Do(func() error {
			objs, err := bpf.LoadXDP(bpf.Options{})
			if err != nil {
				return err
			}
			t.Cleanup(func() { objs.Close() })
			l, err := link.AttachXDP(link.XDPOptions{Program: objs.Program(), Interface: v.Capture.Index})
			if err != nil {
				return err
			}
			t.Cleanup(func() { l.Close() })
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, rej, err := autoOpen(&v.Capture, false)
		if err != nil || got != "tc" || len(rej) != 1 || rej[0].path != "xdp" {
			t.Fatalf("auto = %q, rejected %v, %v", got, rej, err)
		}
		t.Logf("xdp rejected: %s", rej[0].reason)
	})
}
