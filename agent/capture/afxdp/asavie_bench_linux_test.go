//go:build linux

package afxdp_test

import (
	"testing"
	"time"

	asavie "github.com/asavie/xdp"

	"github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/bpf"
)

// BenchmarkAsavieReceive measures github.com/asavie/xdp v0.3.3's rings in
// the same setup as BenchmarkNext (same XDP program, same veth, same
// bursts), for the record of why this package has its own: its GetDescs
// scans the whole frame table on every refill.
func BenchmarkAsavieReceive(b *testing.B) {
	v := capturetest.NewVeth(b, capturetest.VethConfig{})
	var (
		objs *bpf.XDPObjects
		xsk  *asavie.Socket
	)
	err := v.Capture.NS.Do(func() error {
		var err error
		if objs, err = bpf.LoadXDP(bpf.Options{Queues: 1}); err != nil {
			return err
		}
		opts := asavie.SocketOptions{NumFrames: 4096, FrameSize: 2048, FillRingNumDescs: 4096, CompletionRingNumDescs: 64, RxRingNumDescs: 4096, TxRingNumDescs: 64}
		if xsk, err = asavie.NewSocket(v.Capture.Index, 0, &opts); err != nil {
			return err
		}
		if err := objs.XSKMap().Put(uint32(0), uint32(xsk.FD())); err != nil {
			return err
		}
		l, err := objs.Attach(v.Capture.Name, bpf.XDPModeNative)
		if err != nil {
			return err
		}
		b.Cleanup(func() { l.Close() })
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { xsk.Close(); objs.Close() })
	inj := v.Peer.OpenInjector(b)
	frames := capturetest.Mix(1000, v.Peer.MAC, v.Capture.MAC)
	xsk.Fill(xsk.GetDescs(xsk.NumFreeFillSlots()))
	var sink int
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	for done := 0; done < b.N; {
		chunk := min(b.N-done, 3000)
		b.StopTimer()
		for i := range chunk {
			if err := inj.Send(frames[i%len(frames)].Data); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		for got := 0; got < chunk; {
			// The library's documented loop: refill, poll, receive.
			xsk.Fill(xsk.GetDescs(xsk.NumFreeFillSlots()))
			n, _, err := xsk.Poll(100)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				st, _ := xsk.Stats()
				k, _ := objs.Counters()
				b.Fatalf("timeout after %d of %d; socket %+v; kernel %+v", got, chunk, st, k.AllSeen())
			}
			for _, d := range xsk.Receive(n) {
				sink += len(xsk.GetFrame(d))
			}
			got += n
			// Hand the frames back at once, as BenchmarkNext's source does.
			xsk.Fill(xsk.GetDescs(xsk.NumFreeFillSlots()))
		}
		elapsed += time.Since(start)
		done += chunk
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
	_ = sink
}
