//go:build linux

package bpf

import (
	"testing"

	"github.com/visorng/visor/bpf/internal/frames"
)

// TestXDPFrags loads the programs multi-buffer aware, with a filter in the
// tail-call chain (the kernel refuses a chain whose programs disagree on
// the flag), and runs frames both within one page and spread over
// fragments: each is classified from its first buffer and counted with
// its whole length.
func TestXDPFrags(t *testing.T) {
	o := testOpts
	o.Frags = true
	o.Filter = udpPort53
	x := loadXDP(t, o)
	jumbo := frames.Build(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoUDP, SrcPort: 3333, DstPort: 53, Payload: make([]byte, 7958)})
	small := frames.Build(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoUDP, SrcPort: 3333, DstPort: 53})
	other := frames.Build(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoUDP, SrcPort: 3333, DstPort: 80, Payload: make([]byte, 7958)})
	var want uint64
	for _, f := range [][]byte{jumbo, small, other} {
		if got := run(t, x.Program(), f); got != retXDPPass {
			t.Errorf("verdict %d for %d bytes", got, len(f))
		}
		want += uint64(len(f))
	}
	tot := totals(t, x)
	seen, matched := tot.AllSeen(), tot.AllMatched()
	if seen.Packets != 3 || seen.Bytes != want || seen.L4Udp != 3 || seen.Filtered != 1 || seen.DeliverFailed != 2 {
		t.Errorf("seen %+v, want 3 UDP frames of %d bytes, 1 filtered", seen, want)
	}
	if matched.Packets != 2 || matched.Bytes != uint64(len(jumbo)+len(small)) || matched.DnsPort != 2 {
		t.Errorf("matched %+v", matched)
	}
}
