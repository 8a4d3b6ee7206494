package sketches

import (
	"fmt"
	"math/bits"
	"net/netip"
	"testing"
)

// The hash must never change silently: sketches from different processes and
// releases are merged. These values pin it.
func TestHashGolden(t *testing.T) {
	got := []uint64{
		HashBytes(nil),
		HashString("a"),
		HashString("example.com"),
		HashString("a-label-that-is-longer-than-thirty-two-bytes.example.org"),
		HashUint64(0),
		HashUint64(53),
		HashAddr(netip.MustParseAddr("192.0.2.1")),
		HashAddr(netip.MustParseAddr("2001:db8::1")),
	}
	want := []uint64{
		0x294465421931c028,
		0x3b82f5a03384ad15,
		0x9d2e406c67710905,
		0xeb589793433e5ea4,
		0xe220a8397b1dcdaf,
		0xc85e84f460206f76,
		0xd7aee912034f0308,
		0xdf8395f2f41fab0b,
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("hash %d = %#x, want %#x", i, got[i], want[i])
		}
	}
}

func TestHashConsistency(t *testing.T) {
	for n := range 80 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		if HashBytes(b) != HashString(string(b)) {
			t.Fatalf("len %d: bytes and string differ", n)
		}
	}
	v4 := netip.MustParseAddr("198.51.100.7")
	if HashAddr(v4) != HashBytes(v4.AsSlice()) {
		t.Fatal("v4 not hashed by its 4 bytes")
	}
	v6 := netip.MustParseAddr("2001:db8::7")
	if HashAddr(v6) != HashBytes(v6.AsSlice()) {
		t.Fatal("v6 not hashed by its 16 bytes")
	}
	mapped := netip.AddrFrom16(v4.As16())
	if HashAddr(mapped) == HashAddr(v4) {
		t.Fatal("v4 and v4-mapped v6 must differ")
	}
	if HashAddr(v6.WithZone("eth0")) != HashAddr(v6) {
		t.Fatal("zone must be ignored")
	}
	if HashAddr(netip.Addr{}) != HashBytes(nil) {
		t.Fatal("zero Addr")
	}
}

// No collisions among a million short, similar keys (the 64-bit birthday
// bound makes one about 3e-8 likely), and all lengths differ from each other.
func TestHashNoCollisions(t *testing.T) {
	seen := make(map[uint64]string, 1<<20)
	check := func(s string) {
		h := HashString(s)
		if o, ok := seen[h]; ok {
			t.Fatalf("collision %q %q", o, s)
		}
		seen[h] = s
	}
	for i := range 1 << 20 {
		check(fmt.Sprintf("host%d.example.com", i))
	}
	for n := range 64 {
		check(string(make([]byte, n+1))) // runs of zero bytes of every length
	}
}

// Flipping any input bit flips each output bit with probability near 1/2.
func TestHashAvalanche(t *testing.T) {
	r := newRand(7)
	type fn struct {
		name string
		n    int // input bytes
		h    func([]byte) uint64
	}
	var fns []fn
	for _, n := range []int{1, 3, 4, 7, 8, 12, 16, 17, 31, 32, 33, 64} {
		fns = append(fns, fn{fmt.Sprintf("bytes%d", n), n, HashBytes})
	}
	fns = append(fns, fn{"uint64", 8, func(b []byte) uint64 { return HashUint64(le64(b)) }})
	for _, f := range fns {
		t.Run(f.name, func(t *testing.T) {
			const trials = 2000
			var flips [64]int // per output bit
			var total, cases int
			in := make([]byte, f.n)
			for range trials {
				for i := range in {
					in[i] = byte(r.Uint32())
				}
				h0 := f.h(in)
				for bit := range f.n * 8 {
					in[bit/8] ^= 1 << (bit % 8)
					d := f.h(in) ^ h0
					in[bit/8] ^= 1 << (bit % 8)
					total += bits.OnesCount64(d)
					cases++
					for o := range 64 {
						flips[o] += int(d >> o & 1)
					}
				}
			}
			if avg := float64(total) / float64(cases); avg < 31 || avg > 33 {
				t.Errorf("average flipped bits %.2f, want ~32", avg)
			}
			for o, c := range flips {
				if p := float64(c) / float64(cases); p < 0.45 || p > 0.55 {
					t.Errorf("output bit %d flips with p=%.3f", o, p)
				}
			}
		})
	}
}

func TestHashAllocs(t *testing.T) {
	b := []byte("www.example.com")
	s := "www.example.com"
	a := netip.MustParseAddr("2001:db8::1")
	var sink uint64
	if n := testing.AllocsPerRun(1000, func() {
		sink += HashBytes(b) + HashString(s) + HashUint64(sink) + HashAddr(a)
	}); n != 0 {
		t.Fatalf("hashing allocates %v", n)
	}
}

func BenchmarkHash(b *testing.B) {
	for _, n := range []int{4, 16, 32, 64, 256} {
		buf := make([]byte, n)
		b.Run(fmt.Sprintf("bytes%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			var sink uint64
			for range b.N {
				sink += HashBytes(buf)
			}
			_ = sink
		})
	}
	b.Run("uint64", func(b *testing.B) {
		b.ReportAllocs()
		var sink uint64
		for i := range b.N {
			sink += HashUint64(uint64(i))
		}
		_ = sink
	})
	a := netip.MustParseAddr("192.0.2.1")
	b.Run("addr4", func(b *testing.B) {
		b.ReportAllocs()
		var sink uint64
		for range b.N {
			sink += HashAddr(a)
		}
		_ = sink
	})
}
