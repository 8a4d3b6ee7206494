package input

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
)

// sliceSource replays frames from memory, then returns end.
type sliceSource struct {
	frames []capture.Frame
	i      int
	end    error
}

func (s *sliceSource) Next(f *capture.Frame) error {
	if s.i >= len(s.frames) {
		if s.end != nil {
			return s.end
		}
		return io.EOF
	}
	*f = s.frames[s.i]
	s.i++
	return nil
}
func (s *sliceSource) Stats() capture.Stats {
	return capture.Stats{Path: "memory", Received: uint64(s.i)}
}
func (s *sliceSource) Close() error { return nil }

// udpFrame builds Ethernet/IPv4/UDP by hand so the test does not depend on
// another encoder.
func udpFrame(src, dst [4]byte, sport, dport uint16) []byte {
	payload := []byte("hello")
	f := make([]byte, 14+20+8+len(payload))
	f[12], f[13] = 0x08, 0x00
	ip := f[14:]
	ip[0] = 0x45
	total := 20 + 8 + len(payload)
	ip[2], ip[3] = byte(total>>8), byte(total)
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	u := ip[20:]
	u[0], u[1], u[2], u[3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
	ul := 8 + len(payload)
	u[4], u[5] = byte(ul>>8), byte(ul)
	copy(u[8:], payload)
	return f
}

// badIHL sets an IPv4 header length below the minimum.
func badIHL(f []byte) []byte {
	f[14] = 0x44
	return f
}

type recorder struct {
	packets    []decode.Packet
	start, end time.Time
	stats      []capture.Stats
	ticks      int
}

func (r *recorder) Name() string                                         { return "rec" }
func (r *recorder) Type() string                                         { return "rec" }
func (r *recorder) Version() string                                      { return "1.0" }
func (r *recorder) Schema() string                                       { return "rec" }
func (r *recorder) Periods() int                                         { return 1 }
func (r *recorder) Emits() bool                                          { return true }
func (r *recorder) WriteBucket(int, metrics.Writer) (window.Span, error) { return window.Span{}, nil }
func (r *recorder) WriteWindow(int, metrics.Writer) (window.Span, error) { return window.Span{}, nil }
func (r *recorder) HandlePacket(p *decode.Packet)                        { r.packets = append(r.packets, *p) }
func (r *recorder) StartAt(ts time.Time)                                 { r.start = ts }
func (r *recorder) EndAt(ts time.Time)                                   { r.end = ts }
func (r *recorder) CaptureStats(s capture.Stats, _ time.Time)            { r.stats = append(r.stats, s) }
func (r *recorder) Tick(time.Time)                                       { r.ticks++ }

var _ handler.PacketConsumer = (*recorder)(nil)

func TestPacketInputDispatch(t *testing.T) {
	host := [4]byte{192, 0, 2, 10}
	peer := [4]byte{198, 51, 100, 7}
	t0 := time.Unix(1_700_000_000, 0)
	frames := []capture.Frame{
		{Data: udpFrame(peer, host, 5000, 53), Timestamp: t0},
		{Data: udpFrame(host, peer, 53, 5000), Timestamp: t0.Add(time.Second)},
		{Data: udpFrame(peer, host, 5000, 123), Timestamp: t0.Add(2 * time.Second)},
		{Data: []byte{1, 2, 3}, Timestamp: t0.Add(3 * time.Second)},                    // truncated: the filter rejects it, as tcpdump does
		{Data: badIHL(udpFrame(peer, host, 9, 9)), Timestamp: t0.Add(3 * time.Second)}, // passes the filter, fails decode
		{Data: udpFrame(peer, peer, 1, 2), Timestamp: t0.Add(4 * time.Second), Dir: decode.DirOut},
	}
	for i := range frames {
		frames[i].LinkType = decode.LinkEthernet
		frames[i].CapLen = len(frames[i].Data)
		frames[i].OrigLen = len(frames[i].Data)
	}
	hosts, _ := ParseHostSpec("192.0.2.10/32")
	in, err := NewPacketInput(&sliceSource{frames: frames}, PacketOptions{Filter: "not port 123", Hosts: hosts, Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	in.Attach(rec)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := in.Counters.Frames.Load(); got != 6 {
		t.Errorf("frames %d", got)
	}
	if in.Counters.Filtered.Load() != 2 || in.Counters.DecodeErrors.Load() != 1 || in.Counters.Delivered.Load() != 4 {
		t.Errorf("counters filtered=%d decode=%d delivered=%d", in.Counters.Filtered.Load(), in.Counters.DecodeErrors.Load(), in.Counters.Delivered.Load())
	}
	// The malformed frame is still delivered (it is a packet on the wire)
	// with what could be decoded of it: its addresses give it a direction.
	wantDirs := []decode.Direction{decode.DirIn, decode.DirOut, decode.DirIn, decode.DirUnknown}
	for i, p := range rec.packets {
		if p.Dir != wantDirs[i] {
			t.Errorf("packet %d dir %v, want %v (host_spec wins over a source hint when set)", i, p.Dir, wantDirs[i])
		}
	}
	if rec.packets[0].Src != netip.AddrFrom4(peer) || rec.packets[0].OrigLen != len(frames[0].Data) {
		t.Errorf("packet 0 = %+v", rec.packets[0])
	}
	if !rec.start.Equal(t0) || !rec.end.Equal(t0.Add(4*time.Second)) {
		t.Errorf("bounds %v .. %v", rec.start, rec.end)
	}
	if len(rec.stats) == 0 || rec.stats[len(rec.stats)-1].Filtered != 2 {
		t.Errorf("capture stats %+v", rec.stats)
	}
	// Event time ticks every handler once per second of capture.
	if rec.ticks != 4 {
		t.Errorf("ticks during the run = %d, want 4", rec.ticks)
	}
	in.Detach(rec)
	in.Tick(t0)
	if rec.ticks != 4 {
		t.Error("detached handler still ticked")
	}
}

func TestPacketInputSourceError(t *testing.T) {
	bad := errors.New("record at offset 99: truncated")
	src := &sliceSource{frames: []capture.Frame{{Data: udpFrame([4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 1, 2), LinkType: decode.LinkEthernet, Timestamp: time.Unix(1, 0)}}, end: bad}
	in, _ := NewPacketInput(src, PacketOptions{})
	rec := &recorder{}
	in.Attach(rec)
	if err := in.Run(context.Background()); !errors.Is(err, bad) {
		t.Fatalf("err %v", err)
	}
	if len(rec.packets) != 1 {
		t.Fatalf("good frame before the error not delivered: %d", len(rec.packets))
	}
}

func TestPacketInputBadFilter(t *testing.T) {
	if _, err := NewPacketInput(&sliceSource{}, PacketOptions{Filter: "port port port"}); err == nil {
		t.Fatal("bad filter accepted")
	}
}

func TestPacketInputCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in, _ := NewPacketInput(&sliceSource{}, PacketOptions{})
	if err := in.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}
