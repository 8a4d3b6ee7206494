package nethandler_test

import (
	"context"
	"testing"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/test/netgolden"
)

// runCapture feeds a capture through the same path as the reader (pcap
// file → PacketInput → handlers) with every packet deep-sampled.
func runCapture(t *testing.T, path, hostSpec string, periods uint64) (v1, v2 handler.Handler) {
	t.Helper()
	hosts, err := input.ParseHostSpec(hostSpec)
	if err != nil {
		t.Fatalf("host spec %q: %v", hostSpec, err)
	}
	src, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in, err := input.NewPacketInput(src, input.PacketOptions{Hosts: hosts, Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := handler.Config{"recorded_stream": true, "num_periods": periods}
	if v1, err = nethandler.NewV1("golden-net", cfg, handler.Env{}); err != nil {
		t.Fatal(err)
	}
	if v2, err = nethandler.NewV2("golden-net2", cfg, handler.Env{}); err != nil {
		t.Fatal(err)
	}
	in.Attach(v1)
	in.Attach(v2)
	if err := in.Run(context.Background()); err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	return v1, v2
}

func section(t *testing.T, h handler.Handler, p int, window bool) netgolden.Section {
	t.Helper()
	obj, err := handler.SectionJSON(h, p, window)
	if err != nil {
		t.Fatalf("%s section p=%d window=%v: %v", h.Schema(), p, window, err)
	}
	s, err := netgolden.Decode(obj)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func report(t *testing.T, what string, errs []string) {
	t.Helper()
	for _, e := range errs {
		t.Errorf("%s: %s", what, e)
	}
}

func loadGoldens(t *testing.T) []*netgolden.Golden {
	t.Helper()
	root, err := netgolden.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := netgolden.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

// TestGoldens compares net v1 and v2 in summary mode (one bucket) with the
// tshark-derived truth for every capture and host spec.
func TestGoldens(t *testing.T) {
	for _, g := range loadGoldens(t) {
		t.Run(g.Name(), func(t *testing.T) {
			if g.CaptureAt == "" {
				t.Skipf("%s not found (fixtures live in ../shared/fixtures beside the repository)", g.Capture)
			}
			t.Parallel()
			v1, v2 := runCapture(t, g.CaptureAt, g.HostSpec, 1)
			s1 := section(t, v1, 0, false)
			report(t, "packets", netgolden.CheckV1(s1, g))
			report(t, "packets", netgolden.CheckPeriod(s1, g))
			s2 := section(t, v2, 0, false)
			report(t, "net", netgolden.CheckV2(s2, g))
			report(t, "net", netgolden.CheckPeriod(s2, g))
		})
	}
}

// TestBucketRotation runs the 150 s sample with several periods: the
// buckets rotate on event time (three 60 s buckets), each bucket starts at
// least a period after the previous one, the buckets' counters add up to
// the single-bucket totals, and the merged window equals the golden.
func TestBucketRotation(t *testing.T) {
	var g *netgolden.Golden
	for _, x := range loadGoldens(t) {
		if x.Capture == "sample.pcap" && x.HostSpec != "" {
			g = x
		}
	}
	if g == nil || g.CaptureAt == "" {
		t.Fatal("sample.pcap golden with a host spec is missing (run test/truth/make-goldens.sh)")
	}
	const periods = 5
	v1, v2 := runCapture(t, g.CaptureAt, g.HostSpec, periods)

	var sum netgolden.Counters
	var prevStart uint64
	var lengths uint64
	for p := 2; p >= 0; p-- { // oldest first
		s := section(t, v1, p, false)
		start, _ := s.Uint("period.start_ts")
		length, _ := s.Uint("period.length")
		if p < 2 && start < prevStart+60 {
			t.Errorf("bucket %d starts at %d, less than 60 s after the previous (%d)", p, start, prevStart)
		}
		if p > 0 && length < 60 {
			t.Errorf("closed bucket %d is %d s long, want >= 60", p, length)
		}
		prevStart = start
		lengths += length
		for _, f := range []struct {
			dst  *uint64
			path string
		}{{&sum.Total, "total"}, {&sum.IPv4, "ipv4"}, {&sum.IPv6, "ipv6"}, {&sum.UDP, "udp"}, {&sum.TCP, "tcp"}, {&sum.OtherL4, "other_l4"}} {
			v, ok := s.Uint(f.path)
			if !ok {
				t.Fatalf("bucket %d: %s missing", p, f.path)
			}
			*f.dst += v
		}
		if v, _ := s.Uint("total"); v == 0 {
			t.Errorf("bucket %d is empty", p)
		}
	}
	if _, err := handler.SectionJSON(v1, 3, false); err == nil {
		t.Error("bucket 3 exists: the 150 s sample should rotate exactly twice")
	}
	if sum != g.Packets.Counters {
		t.Errorf("buckets add up to %+v, want %+v", sum, g.Packets.Counters)
	}
	if want := uint64(g.Length()); lengths != want {
		t.Errorf("bucket lengths add up to %d s, want %d", lengths, want)
	}

	w1 := section(t, v1, periods, true)
	report(t, "packets window", netgolden.CheckV1(w1, g))
	report(t, "packets window", netgolden.CheckPeriod(w1, g))
	w2 := section(t, v2, periods, true)
	report(t, "net window", netgolden.CheckV2(w2, g))
	// A window of 2 covers only the newest two buckets.
	w := section(t, v1, 2, true)
	if tot, _ := w.Uint("total"); tot >= g.Packets.Total || tot == 0 {
		t.Errorf("window of 2 has %d packets, want some but fewer than %d", tot, g.Packets.Total)
	}
}
