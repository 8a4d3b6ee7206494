package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode"
)

type fakeRates struct{ calls []int }

func (f *fakeRates) SetSampleRate(p int) error { f.calls = append(f.calls, p); return nil }

// sampled is a kernel-counted handler with a deep sample rate.
type sampled struct {
	statsTap
	want     int
	told     []int
	accept   bool
	received uint64
}

func (s *sampled) DeepSampleRate() int { return s.want }
func (s *sampled) CountFromKernel(r int) bool {
	s.told = append(s.told, r)
	return s.accept
}
func (s *sampled) KernelCounts(d *capture.KernelCounters, _ time.Time) {
	for _, c := range d.Matched {
		s.received += c.Packets
	}
}

// needsAll consumes packets without saying what share it needs.
type needsAll struct{ statsTap }

func (*needsAll) HandlePacket(*decode.Packet) {}

func TestKernelRate(t *testing.T) {
	cases := []struct {
		hs   []handler.Handler
		want int
	}{
		{nil, 100},
		{[]handler.Handler{&statsTap{}}, 100},
		{[]handler.Handler{&sampled{want: 10}}, 10},
		{[]handler.Handler{&sampled{want: 10}, &sampled{want: 30}}, 30},
		{[]handler.Handler{&sampled{want: 10}, &needsAll{}}, 100},
		{[]handler.Handler{&sampled{want: 10}, &sampled{want: 0}, &statsTap{}}, 10},
	}
	for i, c := range cases {
		if got := kernelRate(c.hs); got != c.want {
			t.Errorf("case %d: kernelRate = %d, want %d", i, got, c.want)
		}
	}
}

func TestKernelPathAttachDetach(t *testing.T) {
	src := &fakeRates{}
	k := newKernelPath(src)
	a := &sampled{want: 10, accept: true}
	b := &sampled{want: 50, accept: false}
	if err := k.attach(a); err != nil {
		t.Fatal(err)
	}
	if k.rate() != 10 || fmt.Sprint(src.calls) != "[10]" || fmt.Sprint(a.told) != "[10]" {
		t.Fatalf("rate %d, kernel calls %v, told %v", k.rate(), src.calls, a.told)
	}
	if err := k.attach(b); err != nil {
		t.Fatal(err)
	}
	if k.rate() != 50 || fmt.Sprint(a.told) != "[10 50]" {
		t.Fatalf("rate %d, told %v", k.rate(), a.told)
	}
	// Only the handler that accepted gets deltas.
	var cur capture.KernelCounters
	cur.Matched[decode.DirIn].Packets = 7
	k.deliver(&cur, time.Now())
	cur.Matched[decode.DirIn].Packets = 10
	k.deliver(&cur, time.Now())
	if a.received != 10 || b.received != 0 {
		t.Fatalf("received a=%d b=%d", a.received, b.received)
	}
	if err := k.detach(b); err != nil {
		t.Fatal(err)
	}
	if k.rate() != 10 || fmt.Sprint(src.calls) != "[10 50 10]" {
		t.Fatalf("rate %d, kernel calls %v", k.rate(), src.calls)
	}
}

// scripted is a live source replaying errors and frames.
type scripted struct {
	steps []error
	i     int
}

func (s *scripted) Next(f *capture.Frame) error {
	if s.i >= len(s.steps) {
		return io.EOF
	}
	err := s.steps[s.i]
	s.i++
	if err == nil {
		f.Data, f.CapLen, f.OrigLen, f.Timestamp = []byte{1}, 1, 1, time.Now()
	}
	return err
}
func (s *scripted) Stats() capture.Stats { return capture.Stats{} }
func (s *scripted) Close() error         { return nil }

func TestHeartbeatInterfaceStates(t *testing.T) {
	var logs strings.Builder
	src := &scripted{steps: []error{
		capture.ErrTimeout,
		fmt.Errorf("x: %w", capture.ErrInterfaceDown),
		fmt.Errorf("x: %w", capture.ErrInterfaceDown),
		nil,
		fmt.Errorf("x: %w", capture.ErrInterfaceGone),
	}}
	ticks := 0
	hb := &heartbeatSource{Source: src, ctx: context.Background(), tick: func(time.Time) { ticks++ },
		log: slog.New(slog.NewTextHandler(&logs, nil))}
	var f capture.Frame
	if err := hb.Next(&f); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	if err := hb.Next(&f); !errors.Is(err, capture.ErrInterfaceGone) {
		t.Fatalf("err = %v, want interface gone", err)
	}
	out := logs.String()
	if strings.Count(out, "waiting for it to come back") != 1 || strings.Count(out, "up again") != 1 {
		t.Fatalf("logs:\n%s", out)
	}
	if ticks == 0 {
		t.Fatal("no heartbeat")
	}
}
