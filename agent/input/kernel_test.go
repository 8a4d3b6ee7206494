package input

import (
	"testing"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

func TestKernelDeltas(t *testing.T) {
	var d KernelDeltas
	c := capture.KernelCounters{Packets: 10, Bytes: 1000, UDP: 4, In: 6, Sampled: 1}
	c.Matched[decode.DirIn] = capture.KernelClass{Packets: 6, TCPSyn: 2}
	if got := d.Next(&c); got != c {
		t.Fatalf("first delta = %+v, want everything so far", got)
	}
	c.Packets, c.Bytes, c.UDP = 15, 1400, 9
	c.Matched[decode.DirIn].Packets = 8
	got := d.Next(&c)
	want := capture.KernelCounters{Packets: 5, Bytes: 400, UDP: 5}
	want.Matched[decode.DirIn] = capture.KernelClass{Packets: 2}
	if got != want {
		t.Fatalf("second delta = %+v, want %+v", got, want)
	}
	if got := d.Next(&c); got != (capture.KernelCounters{}) {
		t.Fatalf("idle delta = %+v", got)
	}
	// A reopened source starts over: the new totals are the delta.
	r := capture.KernelCounters{Packets: 3}
	if got := d.Next(&r); got.Packets != 3 {
		t.Fatalf("after reset = %+v", got)
	}
}
