package flowinput_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/input/flowinput"
	"github.com/visorng/visor/decode/flow"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("go.mod not found")
		}
		dir = p
	}
}

func fixtures(t testing.TB) string {
	d := filepath.Join(repoRoot(t), "..", "shared", "fixtures")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared fixtures absent (%s)", d)
	}
	return d
}

// sink collects what the input dispatches.
type sink struct {
	mu      sync.Mutex
	calls   int
	records int
	bytes   uint64
	devices map[netip.Addr]int
}

func (s *sink) HandleFlows(dev netip.Addr, _ time.Time, recs []flow.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.devices == nil {
		s.devices = map[netip.Addr]int{}
	}
	s.calls++
	s.records += len(recs)
	s.devices[dev] += len(recs)
	for _, r := range recs {
		s.bytes += r.Bytes
	}
}

func (s *sink) snapshot() (int, int, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.records, s.bytes
}

func TestParseType(t *testing.T) {
	for in, want := range map[string]flowinput.Type{"": flowinput.TypeSFlow, "sflow": flowinput.TypeSFlow, "NetFlow": flowinput.TypeNetFlow, "ipfix": flowinput.TypeNetFlow} {
		if got, err := flowinput.ParseType(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	_, err := flowinput.ParseType("jflow")
	if err == nil || err.Error() != `invalid flow_type "jflow". Supported types: "sflow", "netflow" and "ipfix"` {
		t.Fatalf("error text: %v", err)
	}
	if _, err := flowinput.New(flowinput.TypeSFlow, nil).Listen(flowinput.ListenConfig{Port: 6343}); !errors.Is(err, flowinput.ErrNoBind) || err.Error() != "flow config must specify port and bind" {
		t.Fatalf("no bind: %v", err)
	}
}

// v5 builds a NetFlow v5 datagram of n records of the given bytes each.
func v5(n int, bytes uint32) []byte {
	b := make([]byte, 24+48*n)
	binary.BigEndian.PutUint16(b, 5)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	for i := 0; i < n; i++ {
		r := b[24+48*i:]
		copy(r, []byte{10, 0, 0, 1, 10, 0, 0, 2})
		binary.BigEndian.PutUint32(r[16:], 1)
		binary.BigEndian.PutUint32(r[20:], bytes)
	}
	return b
}

func TestListenLoopback(t *testing.T) {
	in := flowinput.New(flowinput.TypeNetFlow, nil)
	var s sink
	in.Attach(&s)
	l, err := in.Listen(flowinput.ListenConfig{Bind: "127.0.0.1", Sockets: 2, RcvBuf: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(l.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const good = 50
	for i := 0; i < good; i++ {
		c.Write(v5(10, 100))
		c.Write([]byte{0, 5, 0, 1}) // truncated v5: counted, listener goes on
		c.Write([]byte{0, 42, 0, 0})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := in.Stats()
		if st.Datagrams == 3*good {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d datagrams of %d", st.Datagrams, 3*good)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := in.Stats()
	calls, recs, bytes := s.snapshot()
	if calls != good || recs != 10*good || bytes != 1000*good || st.Records != 10*good || st.DecodeErrors != 2*good {
		t.Fatalf("calls %d recs %d bytes %d stats %+v", calls, recs, bytes, st)
	}
	e := st.Exporters[netip.MustParseAddr("127.0.0.1")]
	if e.Datagrams != 3*good || e.ErrTruncated != good || e.ErrVersion != good || e.Records != 10*good {
		t.Fatalf("exporter stats %+v", e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
}

// TestKernelDrops overflows a tiny receive buffer before reading and checks
// that the socket's drop counter surfaces in Stats.
func TestKernelDrops(t *testing.T) {
	in := flowinput.New(flowinput.TypeNetFlow, nil)
	l, err := in.Listen(flowinput.ListenConfig{Bind: "127.0.0.1", Sockets: 1, RcvBuf: 4096})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(l.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := v5(30, 1)
	for i := 0; i < 500; i++ {
		c.Write(msg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for in.Stats().KernelDrops == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no kernel drops reported: %+v", in.Stats())
		}
		c.Write(msg)
		time.Sleep(10 * time.Millisecond)
	}
	st := in.Stats()
	if st.KernelDrops+st.Datagrams < 500 {
		t.Fatalf("drops %d + received %d < 500 sent", st.KernelDrops, st.Datagrams)
	}
}

func TestReadFixtures(t *testing.T) {
	fx := fixtures(t)
	for _, c := range []struct {
		name string
		typ  flowinput.Type
		recs int
		devs map[string]int
	}{
		{"nf1", flowinput.TypeNetFlow, 2, map[string]int{"10.0.0.1": 2}},
		{"nf5", flowinput.TypeNetFlow, 3, map[string]int{"10.0.0.2": 3}},
		{"nf7", flowinput.TypeNetFlow, 2, map[string]int{"10.0.0.1": 2}},
		{"nf9", flowinput.TypeNetFlow, 24, map[string]int{"192.168.100.1": 24}},
		{"ipfix", flowinput.TypeNetFlow, 23, map[string]int{"192.168.100.2": 23}},
		{"sflow_ipv6", flowinput.TypeSFlow, 1, map[string]int{"10.0.0.99": 1}},
		{"sflow_keyed", flowinput.TypeSFlow, 2, map[string]int{"10.0.0.77": 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := pcapfile.Open(filepath.Join(fx, c.name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			in := flowinput.New(c.typ, nil)
			var s sink
			in.Attach(&s)
			var first time.Time
			fs, err := in.ReadSource(context.Background(), src, func(ts time.Time) { first = ts })
			if err != nil {
				t.Fatal(err)
			}
			st := in.Stats()
			if st.Records != uint64(c.recs) || s.records != c.recs || st.DecodeErrors != 0 || first.IsZero() || fs.Frames != st.Datagrams {
				t.Fatalf("stats %+v sink %d file %+v", st, s.records, fs)
			}
			for d, n := range c.devs {
				if s.devices[netip.MustParseAddr(d)] != n {
					t.Fatalf("devices %v", s.devices)
				}
			}
		})
	}
}

type nopConsumer struct{}

func (nopConsumer) HandleFlows(netip.Addr, time.Time, []flow.Record) {}

func TestProcessAllocs(t *testing.T) {
	in := flowinput.New(flowinput.TypeNetFlow, nil)
	in.Attach(nopConsumer{})
	w := in.NewWorker()
	msg := v5(30, 1)
	ex := netip.MustParseAddr("192.0.2.1")
	in.Process(w, ex, time.Now(), msg)
	if a := testing.AllocsPerRun(100, func() { in.Process(w, ex, time.Now(), msg) }); a != 0 {
		t.Fatalf("%.1f allocs per datagram", a)
	}
}

func BenchmarkProcessV5(b *testing.B) {
	in := flowinput.New(flowinput.TypeNetFlow, nil)
	in.Attach(nopConsumer{})
	w := in.NewWorker()
	msg := v5(30, 1)
	ex := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		in.Process(w, ex, now, msg)
	}
	b.ReportMetric(float64(b.N*30)/b.Elapsed().Seconds(), "records/s")
}
