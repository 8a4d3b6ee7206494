package bgp

import (
	"bytes"
	"errors"
	"testing"
)

func msg(t Type, body int) []byte {
	b := bytes.Repeat([]byte{0xff}, 16)
	l := HeaderLen + body
	b = append(b, byte(l>>8), byte(l), byte(t))
	return append(b, make([]byte, body)...)
}

func cat(ms ...[]byte) []byte { return bytes.Join(ms, nil) }

func TestParseHeader(t *testing.T) {
	bad := msg(Open, 10)
	bad[3] = 0
	short := msg(Keepalive, 0)
	short[17] = 18
	tests := []struct {
		name string
		b    []byte
		want Header
		err  error
	}{
		{"keepalive", msg(Keepalive, 0), Header{19, Keepalive}, nil},
		{"update", msg(Update, 40), Header{59, Update}, nil},
		{"truncated", msg(Open, 0)[:18], Header{}, ErrTruncated},
		{"marker", bad, Header{}, ErrMarker},
		{"length below header", short, Header{18, Keepalive}, ErrLength},
	}
	for _, tc := range tests {
		h, err := ParseHeader(tc.b)
		if h != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.name, h, err, tc.want, tc.err)
		}
	}
}

// TestFramerSplits feeds the same stream cut at every possible pair of
// points: the messages found must not depend on the segmentation.
func TestFramerSplits(t *testing.T) {
	stream := cat(msg(Open, 10), msg(Keepalive, 0), msg(Update, 33), msg(Notification, 2), msg(RouteRefresh, 4), msg(Keepalive, 0))
	want := []Type{Open, Keepalive, Update, Notification, RouteRefresh, Keepalive}
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j += 7 {
			var f Framer
			var got []Type
			emit := func(h Header) { got = append(got, h.Type) }
			f.Feed(stream[:i], emit)
			f.Feed(stream[i:j], emit)
			f.Feed(stream[j:], emit)
			if f.Err() != nil || len(got) != len(want) {
				t.Fatalf("cut %d/%d: got %v err %v", i, j, got, f.Err())
			}
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("cut %d/%d: got %v", i, j, got)
				}
			}
		}
	}
}

func TestFramerStopsOnGarbage(t *testing.T) {
	var f Framer
	n := f.Feed(cat(msg(Keepalive, 0), []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"), msg(Keepalive, 0)), func(Header) {})
	if n != 1 || !errors.Is(f.Err(), ErrMarker) {
		t.Fatalf("n=%d err=%v", n, f.Err())
	}
	if n := f.Feed(msg(Keepalive, 0), func(Header) {}); n != 0 {
		t.Fatal("framer resumed after an error")
	}
	f.Reset()
	if n := f.Feed(msg(Keepalive, 0), func(Header) {}); n != 1 {
		t.Fatal("Reset did not restart the framer")
	}
}

func TestFramerAllocs(t *testing.T) {
	stream := cat(msg(Update, 50), msg(Keepalive, 0), msg(Update, 20))
	var f Framer
	count := 0
	if n := testing.AllocsPerRun(100, func() {
		f.Feed(stream[:10], func(Header) { count++ })
		f.Feed(stream[10:], func(Header) { count++ })
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkFramer(b *testing.B) {
	stream := cat(msg(Update, 50), msg(Keepalive, 0), msg(Update, 20), msg(Update, 100))
	var f Framer
	count := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		f.Feed(stream, func(Header) { count++ })
	}
}

// FuzzFramer checks that any segmentation of any stream yields the same
// messages as feeding it whole, that the count is bounded by the bytes, and
// that nothing panics.
func FuzzFramer(f *testing.F) {
	f.Add(cat(msg(Open, 10), msg(Keepalive, 0)), uint16(5))
	f.Add(cat(msg(Update, 4000), msg(Keepalive, 0)), uint16(30))
	f.Add([]byte{0xff, 0xff}, uint16(1))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		var whole, split Framer
		var a, b []Header
		whole.Feed(stream, func(h Header) { a = append(a, h) })
		c := int(cut) % (len(stream) + 1)
		split.Feed(stream[:c], func(h Header) { b = append(b, h) })
		split.Feed(stream[c:], func(h Header) { b = append(b, h) })
		if len(a) != len(b) || !errors.Is(whole.Err(), split.Err()) {
			t.Fatalf("whole %v/%v split %v/%v", a, whole.Err(), b, split.Err())
		}
		for i := range a {
			if a[i] != b[i] || a[i].Length < HeaderLen {
				t.Fatalf("message %d: %v vs %v", i, a[i], b[i])
			}
		}
		if len(a) > len(stream)/HeaderLen {
			t.Fatalf("%d messages from %d bytes", len(a), len(stream))
		}
	})
}
