//go:build linux

package capturetest

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afpacket"
	"github.com/visorng/visor/agent/capture/afxdp"
	harness "github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/test/capture/vethnet"
	"github.com/visorng/visor/test/netgolden"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veth pairs, BPF programs and packet sockets")
	}
}

// newPair makes a veth pair between two fresh namespaces, removed at
// cleanup even when the test fails. The capture end has no address unless
// asked: it plays a dedicated capture port.
func newPair(t testing.TB, cfg vethnet.Config) *vethnet.Pair {
	t.Helper()
	requireRoot(t)
	return harness.NewPair(t, cfg)
}

func sendAll(t testing.TB, in *vethnet.Injector, frames [][]byte) {
	t.Helper()
	for _, f := range frames {
		if err := in.Send(f); err != nil {
			t.Fatal(err)
		}
	}
}

// path is one capture path under test.
type path struct {
	name string
	// deep: every frame reaches user space; kernel: the source reports
	// exact kernel counters.
	deep, kernel bool
	open         func(ifname string) (capture.Source, error)
}

func openAFXDP(rate int) func(string) (capture.Source, error) {
	return func(ifname string) (capture.Source, error) {
		s, err := afxdp.Open(afxdp.Options{Iface: ifname, BPF: bpf.Options{SampleRate: 100}, PollTimeout: 20 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		if rate != 100 {
			if err := s.SetSampleRate(rate); err != nil {
				s.Close()
				return nil, err
			}
		}
		return s, nil
	}
}

// paths lists every path this build has; libpcap joins under its tag.
func paths() []path {
	ps := []path{
		{name: "xdp+af_xdp", deep: true, kernel: true, open: openAFXDP(100)},
		{name: "xdp-count", kernel: true, open: openAFXDP(0)},
		{name: "tc+ring", deep: true, kernel: true, open: func(ifname string) (capture.Source, error) {
			return tcring.Open(tcring.Options{Iface: ifname, BPF: bpf.Options{SampleRate: 100}, PollTimeout: 20 * time.Millisecond})
		}},
		{name: "af_packet", deep: true, open: func(ifname string) (capture.Source, error) {
			return afpacket.Open(afpacket.Options{Iface: ifname, PollTimeout: 20 * time.Millisecond})
		}},
	}
	return append(ps, tagPaths()...)
}

// openIn opens the path's source inside the end's namespace; it is closed
// at cleanup.
func openIn(t testing.TB, e *vethnet.End, p path) capture.Source {
	t.Helper()
	var src capture.Source
	err := e.NS.Do(func() error {
		var err error
		src, err = p.open(e.Name)
		return err
	})
	if err != nil {
		t.Fatalf("open %s on %s: %v", p.name, e.Name, err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// untilIdle ends the stream (io.EOF) once want frames have arrived and the
// source then goes idle, or at the deadline, so a pipeline run is bounded.
type untilIdle struct {
	capture.Source
	want     uint64
	got      uint64
	deadline time.Time
}

func (u *untilIdle) Next(f *capture.Frame) error {
	for time.Now().Before(u.deadline) {
		err := u.Source.Next(f)
		if errors.Is(err, capture.ErrTimeout) {
			if u.got >= u.want {
				return io.EOF
			}
			continue
		}
		if err == nil {
			u.got++
		}
		return err
	}
	return io.EOF
}

// runPipeline feeds src through the agent's input and a net v1 handler
// (one summary bucket, every packet deep) until want frames have arrived
// and the source idles, and returns the handler's section.
func runPipeline(t testing.TB, src capture.Source, want uint64, timeout time.Duration) (netgolden.Section, *input.PacketInput) {
	t.Helper()
	h, err := nethandler.NewV1("it-net", handler.Config{"recorded_stream": true, "num_periods": uint64(1)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := input.NewPacketInput(&untilIdle{Source: src, want: want, deadline: time.Now().Add(timeout)}, input.PacketOptions{Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	in.Attach(h)
	if err := in.Run(context.Background()); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := netgolden.Decode(obj)
	if err != nil {
		t.Fatal(err)
	}
	return s, in
}

// vethConfig is a dedicated capture port: no address on the capture end,
// IPv6 off so the kernels send nothing the test did not.
func vethConfig() vethnet.Config { return vethnet.Config{} }
