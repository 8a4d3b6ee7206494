package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/test/netgolden"
)

// benchCapture loads dns_udp_tcp_random.pcap (or the sample when the
// fixtures are absent) into memory.
func benchCapture(b *testing.B) (name string, data []byte, hostSpec string) {
	b.Helper()
	root, err := netgolden.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	path, spec := filepath.Join(netgolden.FixturesDir(root), "dns_udp_tcp_random.pcap"), "192.168.0.189/32"
	if !fileExists(path) {
		path, spec = netgolden.SamplePath(root), "192.0.2.10/32,2001:db8::10/128"
	}
	data, err = os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return filepath.Base(path), data, spec
}

// BenchmarkReaderPipeline runs the reader's whole per-packet path — pcap
// parsing from memory, input (decode, direction), net handlers — over a
// capture per iteration, and reports the cost per packet. Handler
// construction and the final JSON are outside the timer.
func BenchmarkReaderPipeline(b *testing.B) {
	name, data, spec := benchCapture(b)
	hosts, err := input.ParseHostSpec(spec)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		v2   bool
	}{{"netv1", false}, {"netv1+v2", true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			var packets, mallocs uint64
			var ms runtime.MemStats
			for b.Loop() {
				b.StopTimer()
				src, err := pcapfile.NewReader(bytes.NewReader(data), name)
				if err != nil {
					b.Fatal(err)
				}
				in, err := input.NewPacketInput(src, input.PacketOptions{Hosts: hosts, Recorded: true})
				if err != nil {
					b.Fatal(err)
				}
				cfg := handler.Config{"recorded_stream": true, "num_periods": uint64(1)}
				h, err := nethandler.NewV1("bench", cfg, handler.Env{})
				if err != nil {
					b.Fatal(err)
				}
				in.Attach(h)
				if bc.v2 {
					h2, err := nethandler.NewV2("bench2", cfg, handler.Env{})
					if err != nil {
						b.Fatal(err)
					}
					in.Attach(h2)
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
				b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
			}
		})
	}
}
