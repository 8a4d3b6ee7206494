package tcpreasm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/visorng/visor/decode"
)

var (
	cliAddr = netip.MustParseAddr("192.0.2.10")
	srvAddr = netip.MustParseAddr("192.0.2.53")
	t0      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// rec records everything a Reassembler (or LenPrefixed) reports.
type rec struct {
	data   map[string]*bytes.Buffer // "conn/side"
	msgs   []string
	closes []string
	gaps   []string
	conns  map[*Conn]bool
}

func newRec() *rec { return &rec{data: map[string]*bytes.Buffer{}, conns: map[*Conn]bool{}} }

func connName(c *Conn) string { return fmt.Sprintf("%v>%v", c.Client, c.Server) }

func (r *rec) Data(c *Conn, side Side, data []byte, _ time.Time) {
	k := connName(c) + "/" + side.String()
	if r.data[k] == nil {
		r.data[k] = new(bytes.Buffer)
	}
	r.data[k].Write(data)
	r.conns[c] = true
}

func (r *rec) Message(c *Conn, side Side, msg []byte, _ time.Time) {
	r.msgs = append(r.msgs, side.String()+":"+string(msg))
}

func (r *rec) Closed(c *Conn, reason CloseReason, _ time.Time) {
	r.closes = append(r.closes, connName(c)+":"+reason.String())
}

func (r *rec) Gap(c *Conn, side Side, n uint32, _ time.Time) {
	r.gaps = append(r.gaps, fmt.Sprintf("%s/%s:%d", connName(c), side, n))
}

func (r *rec) got(c, s string) string {
	if b := r.data[c+"/"+s]; b != nil {
		return b.String()
	}
	return ""
}

const cs = "192.0.2.10:40000>192.0.2.53:53"

type seg struct {
	fromClient bool
	flags      uint8
	seq        uint32
	payload    string
	at         time.Duration
}

func (s seg) packet(cport uint16) *decode.Packet {
	p := &decode.Packet{
		Timestamp: t0.Add(s.at), L3: decode.L3IPv4, L4: decode.L4TCP,
		TCPFlags: s.flags, TCPSeq: s.seq, Payload: []byte(s.payload),
		Src: cliAddr, Dst: srvAddr, SrcPort: cport, DstPort: 53,
	}
	if !s.fromClient {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	return p
}

func feed(t testing.TB, cfg Config, h Handler, segs ...seg) *Reassembler {
	t.Helper()
	r, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		r.Add(s.packet(40000))
	}
	return r
}

const (
	syn    = decode.TCPSyn
	synack = decode.TCPSyn | decode.TCPAck
	ack    = decode.TCPAck
	fin    = decode.TCPFin | decode.TCPAck
	rst    = decode.TCPRst
)

func TestStreams(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		segs       []seg
		cli, srv   string
		closes     []string
		gaps       int
		check      func(t *testing.T, s Stats)
		flushAtEnd bool
	}{
		{
			name: "handshake and in order",
			segs: []seg{
				{true, syn, 100, "", 0}, {false, synack, 500, "", 0}, {true, ack, 101, "", 0},
				{true, ack, 101, "hello ", 0}, {true, ack, 107, "world", 0}, {false, ack, 501, "reply", 0},
			},
			cli: "hello world", srv: "reply",
		},
		{
			name: "retransmission delivered once",
			segs: []seg{{true, syn, 100, "", 0}, {true, ack, 101, "abc", 0}, {true, ack, 101, "abc", 0}, {true, ack, 104, "def", 0}},
			cli:  "abcdef",
			check: func(t *testing.T, s Stats) {
				if s.RetransmitsIgnored != 1 {
					t.Errorf("retransmits %d", s.RetransmitsIgnored)
				}
			},
		},
		{
			name: "overlap trimmed",
			segs: []seg{{true, syn, 100, "", 0}, {true, ack, 101, "abcdef", 0}, {true, ack, 104, "defghi", 0}},
			cli:  "abcdefghi",
			check: func(t *testing.T, s Stats) {
				if s.OverlapBytes != 3 {
					t.Errorf("overlap %d", s.OverlapBytes)
				}
			},
		},
		{
			name: "out of order buffered",
			segs: []seg{{true, syn, 100, "", 0}, {true, ack, 107, "ghi", 0}, {true, ack, 104, "def", 0}, {true, ack, 101, "abc", 0}},
			cli:  "abcdefghi",
			check: func(t *testing.T, s Stats) {
				if s.SegmentsBuffered != 2 || s.BufferedBytesNow != 0 {
					t.Errorf("buffered %d now %d", s.SegmentsBuffered, s.BufferedBytesNow)
				}
			},
		},
		{
			name: "out of order with overlapping buffered segments",
			segs: []seg{{true, syn, 100, "", 0}, {true, ack, 105, "efgh", 0}, {true, ack, 103, "cdef", 0}, {true, ack, 105, "ef", 0}, {true, ack, 101, "ab", 0}},
			cli:  "abcdefgh",
		},
		{
			name: "gap beyond per-connection limit is skipped",
			cfg:  Config{MaxBufferedBytesPerConn: 8},
			segs: []seg{{true, syn, 100, "", 0}, {true, ack, 101, "ab", 0}, {true, ack, 105, "efgh", 0}, {true, ack, 109, "ijklm", 0}},
			cli:  "abefghijklm",
			gaps: 1,
			check: func(t *testing.T, s Stats) {
				if s.GapsSkipped != 1 || s.GapBytes != 2 {
					t.Errorf("gaps %d bytes %d", s.GapsSkipped, s.GapBytes)
				}
			},
		},
		{
			name: "segment larger than the limit skips straight to it",
			cfg:  Config{MaxBufferedBytesPerConn: 4},
			segs: []seg{{true, syn, 100, "", 0}, {true, ack, 103, "cdefgh", 0}},
			cli:  "cdefgh",
			gaps: 1,
		},
		{
			name:   "FIN from both sides closes",
			segs:   []seg{{true, syn, 100, "", 0}, {false, synack, 500, "", 0}, {true, ack, 101, "q", 0}, {false, ack, 501, "r", 0}, {true, fin, 102, "", 0}, {false, fin, 502, "", 0}, {true, ack, 103, "late", 0}},
			cli:    "q",
			srv:    "r",
			closes: []string{cs + ":fin"},
			check: func(t *testing.T, s Stats) {
				if s.ClosedFIN != 1 || s.SegmentsIgnored != 1 || s.OpenConns != 0 || s.TrackedConns != 1 {
					t.Errorf("%+v", s)
				}
			},
		},
		{
			name:   "RST closes and flushes buffered data",
			segs:   []seg{{true, syn, 100, "", 0}, {true, ack, 101, "ab", 0}, {true, ack, 105, "ef", 0}, {false, rst, 0, "", 0}},
			cli:    "abef",
			closes: []string{cs + ":rst"},
			gaps:   1,
		},
		{
			name:   "mid-stream start without handshake",
			segs:   []seg{{false, ack, 9000, "resp", 0}, {true, ack, 7000, "query", 0}, {false, ack, 9004, "onse", 0}},
			cli:    "query",
			srv:    "response",
			closes: []string{cs + ":flush"},
			check: func(t *testing.T, s Stats) {
				if s.ConnsOpened != 1 {
					t.Errorf("opened %d", s.ConnsOpened)
				}
			},
			flushAtEnd: true,
		},
		{
			name: "sequence wraparound",
			segs: []seg{
				{true, syn, 0xFFFFFFF8, "", 0},
				{true, ack, 0xFFFFFFF9, "abcd", 0},
				{true, ack, 0x00000001, "ijkl", 0}, // out of order across the wrap
				{true, ack, 0xFFFFFFFD, "efgh", 0},
				{true, ack, 0xFFFFFFFD, "ef", 0}, // old retransmission across the wrap
			},
			cli: "abcdefghijkl",
		},
		{
			name: "pure ACK and RST of unknown flows are ignored",
			segs: []seg{{true, ack, 1, "", 0}, {true, rst, 1, "", 0}},
			check: func(t *testing.T, s Stats) {
				if s.ConnsOpened != 0 || s.SegmentsIgnored != 2 {
					t.Errorf("%+v", s)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRec()
			r := feed(t, tc.cfg, h, tc.segs...)
			if tc.flushAtEnd {
				r.Flush(t0.Add(time.Hour))
			}
			if got := h.got(cs, "client"); got != tc.cli {
				t.Errorf("client stream %q, want %q", got, tc.cli)
			}
			if got := h.got(cs, "server"); got != tc.srv {
				t.Errorf("server stream %q, want %q", got, tc.srv)
			}
			if fmt.Sprint(h.closes) != fmt.Sprint(tc.closes) && !(len(h.closes) == 0 && len(tc.closes) == 0) {
				t.Errorf("closes %v, want %v", h.closes, tc.closes)
			}
			if len(h.gaps) != tc.gaps {
				t.Errorf("gaps %v, want %d", h.gaps, tc.gaps)
			}
			if tc.check != nil {
				tc.check(t, r.Stats())
			}
		})
	}
}

func TestRoles(t *testing.T) {
	h := newRec()
	r, _ := New(Config{}, h)
	// SYN-ACK seen first (SYN lost): its sender is the server.
	r.Add(seg{false, synack, 500, "", 0}.packet(40000))
	// Mid-stream, equal ports: the first sender is the client.
	p := seg{false, ack, 1, "x", 0}.packet(53)
	r.Add(p)
	r.Flush(t0)
	want := []string{"192.0.2.10:40000>192.0.2.53:53:flush", "192.0.2.53:53>192.0.2.10:53:flush"}
	if fmt.Sprint(h.closes) != fmt.Sprint(want) && fmt.Sprint(h.closes) != fmt.Sprint([]string{want[1], want[0]}) {
		t.Errorf("closes %v, want %v", h.closes, want)
	}
}

func TestSYNReusesClosedTuple(t *testing.T) {
	h := newRec()
	feed(t, Config{}, h,
		seg{true, syn, 100, "", 0}, seg{true, ack, 101, "one", 0}, seg{true, rst, 104, "", 0},
		seg{true, syn, 900, "", 0}, seg{true, ack, 901, "two", 0},
	)
	if got := h.got(cs, "client"); got != "onetwo" {
		t.Errorf("got %q", got)
	}
}

func TestConnectionLimitEviction(t *testing.T) {
	h := newRec()
	r, _ := New(Config{MaxConns: 1000}, h)
	// A flood of connections that never close.
	for i := 0; i < 100000; i++ {
		p := seg{true, syn, uint32(i), "", time.Duration(i) * time.Microsecond}.packet(uint16(1024 + i%60000))
		p.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r.Add(p)
		if n := r.Stats().TrackedConns; n > 1000 {
			t.Fatalf("%d tracked", n)
		}
	}
	s := r.Stats()
	if s.ClosedEvicted != 99000 || s.OpenConns != 1000 || s.ConnsOpened != 100000 {
		t.Errorf("%+v", s)
	}
}

// TestIdleByPacketTime: traffic of another connection 30 s later expires
// an idle one, without any wall clock.
func TestIdleByPacketTime(t *testing.T) {
	h := newRec()
	r := feed(t, Config{IdleTimeout: 30 * time.Second}, h, seg{true, syn, 100, "", 0}, seg{true, ack, 101, "a", time.Second})
	r.Add(seg{true, syn, 1, "", 30 * time.Second}.packet(40001))
	if len(h.closes) != 0 {
		t.Fatalf("closed early: %v", h.closes)
	}
	r.Add(seg{true, ack, 2, "x", 31 * time.Second}.packet(40001))
	if want := []string{cs + ":idle"}; fmt.Sprint(h.closes) != fmt.Sprint(want) {
		t.Errorf("closes %v, want %v", h.closes, want)
	}
}

func TestExpire(t *testing.T) {
	h := newRec()
	r := feed(t, Config{}, h, seg{true, syn, 100, "", 0})
	r.Expire(t0.Add(29 * time.Second))
	if len(h.closes) != 0 {
		t.Fatal("expired early")
	}
	r.Expire(t0.Add(30 * time.Second))
	if len(h.closes) != 1 || r.Stats().TrackedConns != 0 {
		t.Errorf("closes %v", h.closes)
	}
}

func TestRejected(t *testing.T) {
	r, _ := New(Config{}, newRec())
	r.Add(&decode.Packet{L4: decode.L4UDP})
	r.Add(&decode.Packet{L4: decode.L4TCP})
	if s := r.Stats(); s.SegmentsRejected != 2 {
		t.Errorf("%+v", s)
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("nil handler accepted")
	}
	if _, err := New(Config{MaxConns: -1}, newRec()); err == nil {
		t.Error("negative limit accepted")
	}
}

// TestGlobalBufferLimit: many connections each holding out-of-order data
// stay under MaxBufferedBytes.
func TestGlobalBufferLimit(t *testing.T) {
	r, _ := New(Config{MaxBufferedBytes: 64 << 10}, newRec())
	for i := 0; i < 1000; i++ {
		port := uint16(2000 + i)
		r.Add(seg{true, syn, 0, "", 0}.packet(port))
		r.Add(seg{true, ack, 100, string(make([]byte, 1000)), 0}.packet(port)) // ahead of a hole
		if n := r.Stats().BufferedBytesNow; n > 64<<10 {
			t.Fatalf("buffered %d", n)
		}
	}
	if s := r.Stats(); s.GapsSkipped == 0 {
		t.Errorf("limit never enforced: %+v", s)
	}
}

type nopHandler struct{}

func (nopHandler) Data(*Conn, Side, []byte, time.Time)  {}
func (nopHandler) Closed(*Conn, CloseReason, time.Time) {}

func TestInOrderAllocs(t *testing.T) {
	r, _ := New(Config{}, nopHandler{})
	r.Add(seg{true, syn, 100, "", 0}.packet(40000))
	p := seg{true, ack, 101, "0123456789abcdef0123456789abcdef", time.Millisecond}.packet(40000)
	if n := testing.AllocsPerRun(1000, func() {
		r.Add(p)
		p.TCPSeq += uint32(len(p.Payload))
	}); n != 0 {
		t.Errorf("%v allocs per in-order segment", n)
	}
	// Out-of-order segments are copied into recycled buffers: steady state
	// allocates nothing either.
	a := seg{true, ack, 0, "abcd", time.Millisecond}.packet(40000)
	b := seg{true, ack, 0, "efgh", time.Millisecond}.packet(40000)
	if n := testing.AllocsPerRun(1000, func() {
		b.TCPSeq = p.TCPSeq + 4
		r.Add(b)
		a.TCPSeq = p.TCPSeq
		r.Add(a)
		p.TCPSeq += 8
	}); n != 0 {
		t.Errorf("%v allocs per out-of-order pair", n)
	}
}

func BenchmarkInOrderSegment(b *testing.B) {
	r, _ := New(Config{}, nopHandler{})
	r.Add(seg{true, syn, 100, "", 0}.packet(40000))
	p := seg{true, ack, 101, string(make([]byte, 512)), 0}.packet(40000)
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Payload)))
	for b.Loop() {
		r.Add(p)
		p.TCPSeq += uint32(len(p.Payload))
	}
}

func BenchmarkOutOfOrderPair(b *testing.B) {
	r, _ := New(Config{}, nopHandler{})
	r.Add(seg{true, syn, 100, "", 0}.packet(40000))
	next := uint32(101)
	x := seg{true, ack, 0, string(make([]byte, 256)), 0}.packet(40000)
	y := seg{true, ack, 0, string(make([]byte, 256)), 0}.packet(40000)
	b.ReportAllocs()
	for b.Loop() {
		y.TCPSeq = next + 256
		r.Add(y)
		x.TCPSeq = next
		r.Add(x)
		next += 512
	}
}

// BenchmarkShortConnections is DNS over TCP's shape: handshake, one query,
// one reply, FIN both ways, over many client ports.
func BenchmarkShortConnections(b *testing.B) {
	lp, _ := NewLenPrefixed(LenPrefixConfig{}, nopMsg{})
	r, _ := New(Config{}, lp)
	q := make([]byte, 2+40)
	binary.BigEndian.PutUint16(q, 40)
	resp := make([]byte, 2+120)
	binary.BigEndian.PutUint16(resp, 120)
	segs := []seg{
		{true, syn, 100, "", 0}, {false, synack, 500, "", 0},
		{true, ack, 101, string(q), 0}, {false, ack, 501, string(resp), 0},
		{true, fin, 101 + uint32(len(q)), "", 0}, {false, fin, 501 + uint32(len(resp)), "", 0},
	}
	pkts := make([]*decode.Packet, len(segs))
	for i, s := range segs {
		pkts[i] = s.packet(0)
	}
	b.ReportAllocs()
	port := uint16(1024)
	for b.Loop() {
		port++
		if port == 0 {
			port = 1024
		}
		for _, p := range pkts {
			if p.SrcPort == 53 {
				p.DstPort = port
			} else {
				p.SrcPort = port
			}
			r.Add(p)
		}
	}
	b.ReportMetric(float64(len(pkts)), "segments/op")
}

type nopMsg struct{}

func (nopMsg) Message(*Conn, Side, []byte, time.Time) {}
func (nopMsg) Closed(*Conn, CloseReason, time.Time)   {}
