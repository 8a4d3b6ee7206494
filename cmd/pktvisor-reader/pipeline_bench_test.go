package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/test/netgolden"
)

// BenchmarkDefaultPipeline runs the reader's per-packet path with its
// default pcap handler set (net, dns and dhcp v1, built from the agent's
// registry as run does): pcap parsing from memory, input (filter, decode,
// direction, TCP reassembly), handlers. It reports ns and allocations per
// packet for the fixture capture (skipped when the fixtures are absent) and
// the committed sample. Handler construction is outside the timer.
func BenchmarkDefaultPipeline(b *testing.B) {
	root, err := netgolden.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, path, spec string }{
		{"dns_udp_tcp_random", filepath.Join(netgolden.FixturesDir(root), "dns_udp_tcp_random.pcap"), "192.168.0.189/32"},
		{"sample", netgolden.SamplePath(root), "192.0.2.10/32,2001:db8::10/128"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if !fileExists(c.path) {
				b.Skipf("%s absent (fixtures not checked out next to the repo)", c.path)
			}
			data, err := os.ReadFile(c.path)
			if err != nil {
				b.Fatal(err)
			}
			hosts, err := input.ParseHostSpec(c.spec)
			if err != nil {
				b.Fatal(err)
			}
			reg := agent.Handlers()
			cfg := handler.Config{"recorded_stream": true, "num_periods": uint64(1), "deep_sample_rate": uint64(100)}
			b.ReportAllocs()
			var packets, mallocs uint64
			var ms runtime.MemStats
			for b.Loop() {
				b.StopTimer()
				src, err := pcapfile.NewReader(bytes.NewReader(data), c.name)
				if err != nil {
					b.Fatal(err)
				}
				in, err := input.NewPacketInput(src, input.PacketOptions{Hosts: hosts, Recorded: true})
				if err != nil {
					b.Fatal(err)
				}
				for _, typ := range agent.ReaderHandlers("pcap") {
					h, err := reg.New(typ, "1.0", "bench-"+typ, cfg, handler.Env{})
					if err != nil {
						b.Fatal(err)
					}
					in.Attach(h)
				}
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				b.StartTimer()
				if err := in.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs - before
				packets += in.Counters.Frames.Load()
				b.StartTimer()
			}
			if packets > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/pkt")
				b.ReportMetric(float64(mallocs)/float64(packets), "allocs/pkt")
			}
		})
	}
}
