package afxdp

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// TestRings drives both ring kinds over plain memory laid out like the
// kernel's, playing the kernel's side by hand.
func TestRings(t *testing.T) {
	const size = 4
	mem := make([]byte, 64+size*16)
	rx := newRing(mem, 0, 4, 8, 64, size)
	ne := binary.NativeEndian
	put := func(i int, addr uint64, l uint32) {
		off := 64 + (i%size)*16
		ne.PutUint64(mem[off:], addr)
		ne.PutUint32(mem[off+8:], l)
	}
	if rx.rxAvailable() != 0 {
		t.Fatal("empty ring has entries")
	}
	// Kernel produces 3.
	for i := range 3 {
		put(i, uint64(i)*2048, uint32(60+i))
	}
	ne.PutUint32(mem[0:], 3)
	if n := rx.rxAvailable(); n != 3 {
		t.Fatalf("available %d", n)
	}
	for i := range 3 {
		d := rx.rxPeek()
		if d.addr != uint64(i)*2048 || d.len != uint32(60+i) {
			t.Fatalf("desc %d: %+v", i, d)
		}
		rx.rxRelease(1)
	}
	if got := ne.Uint32(mem[4:]); got != 3 {
		t.Fatalf("consumer %d", got)
	}
	// Wrap around: producer at 6.
	for i := 3; i < 6; i++ {
		put(i, uint64(i)*2048, 100)
	}
	ne.PutUint32(mem[0:], 6)
	for i := 3; i < 6; i++ {
		if rx.rxAvailable() == 0 || rx.rxPeek().addr != uint64(i)*2048 {
			t.Fatalf("wrapped desc %d", i)
		}
		rx.rxRelease(1)
	}

	fmem := make([]byte, 64+size*8)
	fill := newRing(fmem, 0, 4, 8, 64, size)
	for i := range size {
		if fill.fillFree(size) == 0 {
			t.Fatalf("full after %d", i)
		}
		fill.fillPut(uint64(i) * 2048)
	}
	if fill.fillFree(size) != 0 {
		t.Fatal("not full")
	}
	ne.PutUint32(fmem[4:], 2) // kernel consumed 2
	if n := fill.fillFree(size); n != 2 {
		t.Fatalf("free %d", n)
	}
	fill.fillPut(9 * 2048)
	if ne.Uint32(fmem[0:]) != 5 || ne.Uint64(fmem[64+(4%size)*8:]) != 9*2048 {
		t.Fatal("fill producer or slot wrong")
	}
	ne.PutUint32(fmem[8:], xdpRingNeedWakeup)
	if !fill.needWakeup() {
		t.Fatal("wakeup flag")
	}
	if unsafe.Sizeof(rxDesc{}) != 16 {
		t.Fatal("xdp_desc is 16 bytes")
	}
}
