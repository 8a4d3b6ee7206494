package bpf

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/bpf/internal/frames"
	"github.com/visorng/visor/bpf/internal/testutil"
)

// benchProg runs p over frame b.N times inside the kernel (BPF_PROG_RUN with
// repeat) and reports the kernel's time per packet, both as measured by the
// test run and from the BPF run-time statistics.
func benchProg(b *testing.B, p *ebpf.Program, frame []byte) {
	b.Helper()
	b.ReportAllocs()
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err == nil {
		defer stats.Close()
	}
	before, _ := p.Stats()
	_, perRun, err := p.Benchmark(frame, b.N, b.ResetTimer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(perRun.Nanoseconds()), "kernel-ns/pkt")
	if after, err := p.Stats(); err == nil && before != nil && after.RunCount > before.RunCount {
		ns := float64(after.Runtime-before.Runtime) / float64(after.RunCount-before.RunCount)
		b.ReportMetric(ns, "stats-ns/pkt")
	}
}

func benchFrame() []byte {
	// A 64-byte DNS query frame, the case the throughput targets use.
	return frames.Build(frames.Spec{Src: peerV4, Dst: hostV4, Proto: frames.ProtoUDP, SrcPort: 40000, DstPort: 53, Payload: make([]byte, 64-42)})
}

func BenchmarkXDPProgRun(b *testing.B) {
	testutil.RequireRoot(b)
	frame := benchFrame()
	b.Run("ceiling=xdpdrop", func(b *testing.B) {
		var objs xdpdropObjects
		testutil.CheckFeature(b, "XDP", 6, 6, loadXdpdropObjects(&objs, nil))
		defer objs.Close()
		benchProg(b, objs.XdpDropCount, frame)
	})
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"rate=0", Options{SampleRate: 1}},
		{"rate=100", Options{}},
		{"rate=100/hostset+dnsports", Options{HostNets: hostSet, ExtraDNSPorts: []uint16{8853}}},
		{"rate=100/filter=udp-port-53", Options{Filter: udpPort53}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			x := loadXDP(b, bc.opts)
			if bc.name == "rate=0" {
				if err := x.SetSampleRate(0); err != nil {
					b.Fatal(err)
				}
			}
			benchProg(b, x.Program(), frame)
		})
	}
}

func BenchmarkTCProgRun(b *testing.B) {
	testutil.RequireRoot(b)
	frame := benchFrame()
	for _, bc := range []struct {
		name string
		rate int
		opts Options
	}{
		{"rate=0", 0, Options{}},
		// The ring is never drained here, so after it fills this measures
		// the reserve-failure path; the first records measure the copy.
		{"rate=100", 100, Options{WakeupThreshold: 1 << 20}},
		{"rate=0/filter=udp-port-53", 0, Options{Filter: udpPort53}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := loadTC(b, bc.opts)
			if err := c.SetSampleRate(bc.rate); err != nil {
				b.Fatal(err)
			}
			benchProg(b, c.Ingress(), frame)
		})
	}
	// The delivering path as it runs live: a reader drains the ring while
	// the program runs, so every record is reserved, copied and submitted
	// instead of failing to reserve. With the agent's wakeup threshold (an
	// eighth of the ring) and with the kernel's own policy, which wakes the
	// reader for every record that finds it caught up.
	for _, wc := range []struct {
		name      string
		threshold uint32
	}{
		{"rate=100/drained/threshold", DefaultRingBytes / 8},
		{"rate=100/drained/wake-every-record", 0},
	} {
		b.Run(wc.name, func(b *testing.B) { benchDrained(b, frame, wc.threshold) })
	}
}

func benchDrained(b *testing.B, frame []byte, threshold uint32) {
	c := loadTC(b, Options{WakeupThreshold: threshold})
	if err := c.SetSampleRate(100); err != nil {
		b.Fatal(err)
	}
	rd, err := ringbuf.NewReader(c.Ring())
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var rec ringbuf.Record
		for {
			if err := rd.ReadInto(&rec); err != nil {
				return // closed
			}
		}
	}()
	benchProg(b, c.Ingress(), frame)
	st, err := c.Counters()
	rd.Close()
	<-done
	if err != nil {
		b.Fatal(err)
	}
	all := st.AllSeen()
	if all.Sampled+all.DeliverFailed > 0 {
		b.ReportMetric(100*float64(all.DeliverFailed)/float64(all.Sampled+all.DeliverFailed), "%ring-full")
	}
}
