package dnstap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dt "github.com/dnstap/golang-dnstap"
	framestream "github.com/farsightsec/golang-framestream"
	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

func fixtures(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("go.mod not found")
		}
		dir = p
	}
	f := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(f); err != nil {
		t.Skipf("fixtures not available at %s", f)
	}
	return f
}

// sink is a minimal DnstapConsumer recording what it got.
type sink struct {
	mu       sync.Mutex
	n        int
	types    map[handler.DnstapType]int
	started  time.Time
	ended    time.Time
	messages int
}

func newSink() *sink { return &sink{types: map[handler.DnstapType]int{}} }

func (s *sink) Name() string    { return "sink" }
func (s *sink) Type() string    { return "sink" }
func (s *sink) Version() string { return "1.0" }
func (s *sink) Schema() string  { return "sink" }
func (s *sink) WriteBucket(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
func (s *sink) WriteWindow(int, metrics.Writer) (window.Span, error) {
	return window.Span{}, nil
}
func (s *sink) Periods() int         { return 1 }
func (s *sink) Emits() bool          { return true }
func (s *sink) StartAt(ts time.Time) { s.started = ts }
func (s *sink) EndAt(ts time.Time)   { s.ended = ts }
func (s *sink) HandleDnstap(m *handler.DnstapMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.types[m.Type]++
	if len(m.QueryMessage)+len(m.ResponseMessage) > 0 {
		s.messages++
	}
}

func (s *sink) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.n }

func TestFixtureFile(t *testing.T) {
	path := filepath.Join(fixtures(t), "fixture.dnstap")
	in, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	in.Attach(s)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The fixture holds 153 complete frames and a truncated 154th.
	if s.n != 153 || in.Counters.Frames.Load() != 153 {
		t.Errorf("messages %d frames %d, want 153", s.n, in.Counters.Frames.Load())
	}
	if got := in.Counters.ProtocolErrors.Load(); got != 1 {
		t.Errorf("protocol errors %d, want 1 (the truncated last frame)", got)
	}
	if s.types[handler.DnstapClientQuery]+s.types[handler.DnstapClientResponse] != 153 {
		t.Errorf("types %v, want only CLIENT_QUERY/CLIENT_RESPONSE", s.types)
	}
	if s.started.IsZero() || !s.ended.After(s.started) {
		t.Errorf("bounds %v..%v", s.started, s.ended)
	}
}

func TestOnlyHosts(t *testing.T) {
	path := filepath.Join(fixtures(t), "fixture.dnstap")
	for _, tc := range []struct {
		prefix string
		want   int
	}{{"192.168.0.0/24", 153}, {"10.0.0.0/8", 0}, {"192.168.0.54/32", 153}} {
		in, _ := New(Options{File: path, OnlyHosts: []netip.Prefix{netip.MustParsePrefix(tc.prefix)}})
		s := newSink()
		in.Attach(s)
		if err := in.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s.n != tc.want || int(in.Counters.Filtered.Load()) != 153-tc.want {
			t.Errorf("%s: passed %d filtered %d, want %d", tc.prefix, s.n, in.Counters.Filtered.Load(), tc.want)
		}
	}
}

func TestNoSource(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrNoSource) || err.Error() != "config must specify one of: socket, dnstap_file" {
		t.Errorf("err %v", err)
	}
	if _, err := New(Options{TCP: "nope"}); err == nil || err.Error() != "invalid tcp address specification, use HOST:PORT" {
		t.Errorf("err %v", err)
	}
}

// frame builds one dnstap CLIENT_QUERY protobuf frame.
func frame(t testing.TB, id uint16) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	m.Id = id
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	typ := dt.Message_CLIENT_QUERY
	fam := dt.SocketFamily_INET
	prot := dt.SocketProtocol_UDP
	sec := uint64(1700000000)
	port := uint32(5300)
	mt := dt.Dnstap_MESSAGE
	pb := &dt.Dnstap{Type: &mt, Message: &dt.Message{Type: &typ, SocketFamily: &fam, SocketProtocol: &prot,
		QueryAddress: []byte{127, 0, 0, 1}, QueryPort: &port, QueryTimeSec: &sec, QueryMessage: wire}}
	b, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serveSocket(t *testing.T) (*Input, *sink, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "dnstap.sock")
	in, err := New(Options{Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	in.Attach(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return in, s, sock
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSocketSessions drives the socket with an independent Frame Streams
// implementation, bidirectional and unidirectional, and with broken peers
// whose sessions must close without stopping the input.
func TestSocketSessions(t *testing.T) {
	in, s, sock := serveSocket(t)
	send := func(bidi bool, n int) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		w, err := framestream.NewWriter(c, &framestream.WriterOptions{
			ContentTypes: [][]byte{[]byte(ContentType)}, Bidirectional: bidi, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("handshake (bidi=%v): %v", bidi, err)
		}
		for i := 0; i < n; i++ {
			if _, err := w.WriteFrame(frame(t, uint16(i))); err != nil {
				t.Fatal(err)
			}
		}
		// Close sends STOP and, bidirectionally, waits for FINISH.
		if err := w.Close(); err != nil {
			t.Fatalf("close (bidi=%v): %v", bidi, err)
		}
	}
	send(true, 10)
	send(false, 5)
	waitFor(t, "15 messages", func() bool { return s.count() == 15 })

	raw := func(b []byte) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		c.Close()
	}
	before := in.Counters.ProtocolErrors.Load()
	// A data frame before START.
	raw(binary.BigEndian.AppendUint32(nil, 3))
	// A control frame larger than 512 bytes.
	raw(append(binary.BigEndian.AppendUint32(nil, 0), binary.BigEndian.AppendUint32(nil, 1000)...))
	// A wrong content type.
	raw(appendControl(nil, ctrlStart, "protobuf:other"))
	// START, then a data frame claiming 2 MiB.
	raw(binary.BigEndian.AppendUint32(appendControl(nil, ctrlStart, ContentType), 2<<20))
	// START, then garbage that is not a protobuf, then a truncated frame.
	b := appendControl(nil, ctrlStart, ContentType)
	b = binary.BigEndian.AppendUint32(b, 4)
	b = append(b, 0xff, 0xff, 0xff, 0xff)
	b = binary.BigEndian.AppendUint32(b, 100)
	raw(append(b, 1, 2))
	waitFor(t, "5 protocol errors", func() bool { return in.Counters.ProtocolErrors.Load()-before == 5 })
	waitFor(t, "1 decode error", func() bool { return in.Counters.DecodeErrors.Load() == 1 })

	// The input still serves.
	send(true, 3)
	waitFor(t, "18 messages", func() bool { return s.count() == 18 })
}

func TestReaderUnit(t *testing.T) {
	// READY must be answered by ACCEPT carrying the content type.
	var out bytes.Buffer
	in := appendControl(nil, ctrlReady, ContentType)
	in = appendControl(in, ctrlStart, ContentType)
	in = binary.BigEndian.AppendUint32(in, 3)
	in = append(in, 'a', 'b', 'c')
	in = appendControl(in, ctrlStop, "")
	r := NewReader(bytes.NewReader(in), &out)
	f, err := r.Next()
	if err != nil || string(f) != "abc" {
		t.Fatalf("frame %q err %v", f, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after STOP: %v", err)
	}
	want := appendControl(appendControl(nil, ctrlAccept, ContentType), ctrlFinish, "")
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("replies % x, want % x", out.Bytes(), want)
	}
}

func FuzzReader(f *testing.F) {
	seed := appendControl(nil, ctrlStart, ContentType)
	seed = binary.BigEndian.AppendUint32(seed, 2)
	seed = append(seed, 1, 2)
	f.Add(seed)
	f.Add(appendControl(nil, ctrlReady, ContentType))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b), io.Discard)
		for i := 0; i < 1000; i++ {
			fr, err := r.Next()
			if err != nil {
				return
			}
			if len(fr) > MaxDataFrame {
				t.Fatalf("frame of %d bytes", len(fr))
			}
			var pb dt.Dnstap
			_ = proto.Unmarshal(fr, &pb)
			var m handler.DnstapMessage
			convert(&pb, &m, len(fr))
		}
	})
}
