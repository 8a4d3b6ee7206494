package tcpreasm

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

// lp builds one length-prefixed message of a body padded to at least 12
// bytes (the DNS header size MinLen defaults to).
func lp(body string) string {
	body = fmt.Sprintf("%-12s", body)
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], uint16(len(body)))
	return string(p[:]) + body
}

func msg(side, body string) string { return side + ":" + fmt.Sprintf("%-12s", body) }

func TestLenPrefixed(t *testing.T) {
	m1, m2, m3 := lp("first"), lp("second"), lp("third")
	tests := []struct {
		name  string
		segs  []seg
		want  []string
		check func(t *testing.T, s LenPrefixStats)
	}{
		{
			name: "one message per segment",
			segs: []seg{{true, syn, 0, "", 0}, {true, ack, 1, m1, 0}},
			want: []string{msg("client", "first")},
		},
		{
			name: "several messages in one segment",
			segs: []seg{{true, syn, 0, "", 0}, {true, ack, 1, m1 + m2 + m3, 0}},
			want: []string{msg("client", "first"), msg("client", "second"), msg("client", "third")},
		},
		{
			name: "message split across segments, prefix split too",
			segs: []seg{{true, syn, 0, "", 0}, {true, ack, 1, m1[:1], 0}, {true, ack, 2, m1[1:5], 0}, {true, ack, 6, m1[5:] + m2[:3], 0}, {true, ack, uint32(1 + len(m1) + 3), m2[3:], 0}},
			want: []string{msg("client", "first"), msg("client", "second")},
		},
		{
			name: "both sides, reordered and retransmitted",
			segs: []seg{
				{true, syn, 0, "", 0}, {false, synack, 1000, "", 0},
				{true, ack, 1 + 7, m1[7:], 0}, {true, ack, 1, m1, 0}, {true, ack, 1, m1[:7], 0},
				{false, ack, 1001, m2, 0},
			},
			want: []string{msg("client", "first"), msg("server", "second")},
		},
		{
			name: "length below minimum invalidates the side only",
			segs: []seg{{true, syn, 0, "", 0}, {false, synack, 1000, "", 0}, {true, ack, 1, "\x00\x05hello" + m1, 0}, {false, ack, 1001, m2, 0}, {true, ack, 8 + uint32(len(m1)), m3, 0}},
			want: []string{msg("server", "second")},
			check: func(t *testing.T, s LenPrefixStats) {
				if s.InvalidStreams != 1 {
					t.Errorf("%+v", s)
				}
			},
		},
		{
			name: "gap abandons the side",
			segs: []seg{{true, syn, 0, "", 0}, {true, ack, 1, m1[:5], 0}, {true, ack, 1 + uint32(len(m1)), m2, 0}},
			// Flush skips the hole at close; the message after it is not
			// trusted.
			want: nil,
			check: func(t *testing.T, s LenPrefixStats) {
				if s.GapStreams != 1 || s.AbandonedBytes != 5 || s.BufferedNow != 0 {
					t.Errorf("%+v", s)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRec()
			l, err := NewLenPrefixed(LenPrefixConfig{}, h)
			if err != nil {
				t.Fatal(err)
			}
			r := feed(t, Config{}, l, tc.segs...)
			r.Flush(t0)
			if fmt.Sprint(h.msgs) != fmt.Sprint(tc.want) {
				t.Errorf("messages %q, want %q", h.msgs, tc.want)
			}
			s := l.Stats()
			if s.Messages != uint64(len(tc.want)) {
				t.Errorf("Messages %d", s.Messages)
			}
			if len(h.closes) != 1 {
				t.Errorf("closes %v", h.closes)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// TestHugePrefixTrickle: a peer announcing a 65535-byte message and sending
// it one byte at a time holds at most one buffer of that size.
func TestHugePrefixTrickle(t *testing.T) {
	h := newRec()
	l, _ := NewLenPrefixed(LenPrefixConfig{}, h)
	r, _ := New(Config{}, l)
	r.Add(seg{true, syn, 0, "", 0}.packet(40000))
	r.Add(seg{true, ack, 1, "\xff\xff", 0}.packet(40000))
	for i := uint32(0); i < 65535; i++ {
		r.Add(seg{true, ack, 3 + i, "x", time.Duration(i) * time.Microsecond}.packet(40000))
		if i%4096 == 0 {
			if n := l.Stats().BufferedNow; n > 65537 {
				t.Fatalf("buffered %d", n)
			}
		}
	}
	if len(h.msgs) != 1 || len(h.msgs[0]) != len("client:")+65535 {
		t.Fatalf("messages: %d", len(h.msgs))
	}
	if n := l.Stats().BufferedNow; n != 0 {
		t.Errorf("buffered after completion %d", n)
	}
}

// TestLenPrefixedBudget: many connections each holding a partial message
// stay within MaxBufferedBytes; the overflow is counted.
func TestLenPrefixedBudget(t *testing.T) {
	l, _ := NewLenPrefixed(LenPrefixConfig{MaxBufferedBytes: 1 << 20}, newRec())
	r, _ := New(Config{}, l)
	for i := 0; i < 1000; i++ {
		port := uint16(2000 + i)
		r.Add(seg{true, syn, 0, "", 0}.packet(port))
		r.Add(seg{true, ack, 1, "\xff\xffpartial", 0}.packet(port))
		if n := l.Stats().BufferedNow; n > 1<<20 {
			t.Fatalf("buffered %d", n)
		}
	}
	s := l.Stats()
	if s.OverflowStreams == 0 {
		t.Errorf("budget never enforced: %+v", s)
	}
	r.Flush(t0)
	if n := l.Stats().BufferedNow; n != 0 {
		t.Errorf("buffered after flush %d", n)
	}
}

func TestLenPrefixedConfig(t *testing.T) {
	if _, err := NewLenPrefixed(LenPrefixConfig{}, nil); err == nil {
		t.Error("nil handler accepted")
	}
	if _, err := NewLenPrefixed(LenPrefixConfig{MinLen: -1}, newRec()); err == nil {
		t.Error("negative MinLen accepted")
	}
}

func TestLenPrefixedAllocs(t *testing.T) {
	l, _ := NewLenPrefixed(LenPrefixConfig{}, nopMsg{})
	r, _ := New(Config{}, l)
	r.Add(seg{true, syn, 0, "", 0}.packet(40000))
	whole := seg{true, ack, 1, strings.Repeat(lp("query"), 2), 0}.packet(40000)
	if n := testing.AllocsPerRun(1000, func() {
		r.Add(whole)
		whole.TCPSeq += uint32(len(whole.Payload))
	}); n != 0 {
		t.Errorf("%v allocs per segment of whole messages", n)
	}
	// Split messages go through a recycled buffer.
	m := lp("split")
	a := seg{true, ack, 0, m[:5], 0}.packet(40000)
	b := seg{true, ack, 0, m[5:], 0}.packet(40000)
	if n := testing.AllocsPerRun(1000, func() {
		a.TCPSeq = whole.TCPSeq
		r.Add(a)
		b.TCPSeq = whole.TCPSeq + 5
		r.Add(b)
		whole.TCPSeq += uint32(len(m))
	}); n != 0 {
		t.Errorf("%v allocs per split message", n)
	}
}
