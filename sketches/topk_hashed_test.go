package sketches

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// The hashed adds must be indistinguishable from the plain ones: the same
// stream through either gives identical tops, totals and floors.
func TestAddHashedMatchesAdd(t *testing.T) {
	for _, d := range keyDists {
		t.Run(d.name, func(t *testing.T) {
			stream := genStream(d, 20_000, true, 7)
			plain, _ := NewTopK(64, HashAddr)
			hashed, _ := NewTopK(64, HashAddr)
			splain, _ := NewStringTopK(64)
			shashed, _ := NewStringTopK(64)
			buf := make([]byte, 0, 32)
			for i, x := range stream {
				var a netip.Addr
				if i%3 == 0 {
					a = netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(x.key), 14: byte(x.key >> 8), 13: byte(x.key >> 16)})
				} else {
					a = netip.AddrFrom4([4]byte{10, byte(x.key >> 16), byte(x.key >> 8), byte(x.key)})
				}
				w := x.w
				if i%17 == 0 {
					w = 0 // ignored by both
				}
				plain.AddWithCount(a, w)
				hashed.AddHashed(HashAddr(a), a, w)
				buf = fmt.Appendf(buf[:0], "%d.example.com", x.key)
				splain.AddBytes(buf, w)
				shashed.AddBytesHashed(HashBytes(buf), buf, w)
			}
			if !slices.Equal(plain.Top(0, nil), hashed.Top(0, nil)) || plain.Total() != hashed.Total() || plain.Floor() != hashed.Floor() {
				t.Fatal("TopK.AddHashed differs from AddWithCount")
			}
			if !slices.Equal(splain.Top(0, nil), shashed.Top(0, nil)) || splain.Total() != shashed.Total() || splain.Floor() != shashed.Floor() {
				t.Fatal("StringTopK.AddBytesHashed differs from AddBytes")
			}
		})
	}
}

func TestAddHashedAllocs(t *testing.T) {
	tk, _ := NewTopK(16, HashAddr)
	st, _ := NewStringTopK(16)
	a := netip.MustParseAddr("192.0.2.1")
	name := []byte("www.example.com")
	for range 32 {
		tk.AddHashed(HashAddr(a), a, 1)
		st.AddBytesHashed(HashBytes(name), name, 1)
		a = a.Next()
	}
	if n := testing.AllocsPerRun(1000, func() {
		tk.AddHashed(HashAddr(a), a, 1)
		st.AddBytesHashed(HashBytes(name), name, 1)
		a = a.Next()
	}); n != 0 {
		t.Fatalf("hashed adds allocate %v", n)
	}
}
