package flowhandler_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/flowhandler"
	"github.com/visorng/visor/agent/input/flowinput"
)

// v5Stream: 64 full NetFlow v5 datagrams, 1920 distinct flows over 4
// interfaces, TCP and UDP, so top-N and cardinality sketches do real work.
func v5Stream() [][]byte {
	var out [][]byte
	for d := 0; d < 64; d++ {
		b := make([]byte, 24, 24+30*48)
		binary.BigEndian.PutUint16(b, 5)
		binary.BigEndian.PutUint16(b[2:], 30)
		for i := 0; i < 30; i++ {
			r := make([]byte, 48)
			copy(r, []byte{10, byte(d), byte(i), 1, 192, 0, 2, byte(d*30 + i)})
			binary.BigEndian.PutUint16(r[12:], uint16(i%4))
			binary.BigEndian.PutUint16(r[14:], uint16((i+1)%4))
			binary.BigEndian.PutUint32(r[16:], uint32(i+1))
			binary.BigEndian.PutUint32(r[20:], uint32(1500*(i+1)))
			binary.BigEndian.PutUint16(r[32:], uint16(40000+d))
			binary.BigEndian.PutUint16(r[34:], []uint16{443, 53, 80, 22}[i%4])
			r[38] = []byte{6, 17}[i%2]
			r[39] = byte(i % 8 << 2)
			b = append(b, r...)
		}
		out = append(out, b)
	}
	return out
}

// v5DistinctStream: 65,536 NetFlow v5 records that share no key, like a
// spoofed-source flood: every record is a new source address and port, so
// neither pre-aggregation nor the top lists' hash tables ever hit. This is
// the handler's worst case.
func v5DistinctStream() [][]byte {
	var out [][]byte
	be := binary.BigEndian
	n := 0
	for d := 0; n < 65536; d++ {
		b := make([]byte, 24, 24+30*48)
		be.PutUint16(b, 5)
		be.PutUint16(b[2:], 30)
		for i := 0; i < 30; i++ {
			r := make([]byte, 48)
			x := uint32(n) * 2654435761 // scatter the sources
			be.PutUint32(r, x)
			copy(r[4:], []byte{192, 0, 2, byte(i)})
			be.PutUint16(r[12:], uint16(i%4))
			be.PutUint16(r[14:], uint16((i+1)%4))
			be.PutUint32(r[16:], 1)
			be.PutUint32(r[20:], 60)
			be.PutUint16(r[32:], uint16(1024+n%60000))
			be.PutUint16(r[34:], []uint16{443, 53, 80, 22}[i%4])
			r[38] = []byte{6, 17}[i%2]
			b = append(b, r...)
			n++
		}
		out = append(out, b)
	}
	return out
}

// sflowStream: datagrams of 8 sampled IPv4 flows (keyed elements), rate 1024.
func sflowStream() [][]byte {
	var out [][]byte
	be := binary.BigEndian
	for d := 0; d < 64; d++ {
		b := be.AppendUint32(nil, 5)
		b = be.AppendUint32(b, 1)
		b = append(b, 10, 0, 0, byte(d%4))
		b = be.AppendUint32(b, 0)
		b = be.AppendUint32(b, uint32(d))
		b = be.AppendUint32(b, 1)
		b = be.AppendUint32(b, 8)
		for s := 0; s < 8; s++ {
			e := be.AppendUint32(nil, 3)
			e = be.AppendUint32(e, 32)
			e = be.AppendUint32(e, 1500)
			e = be.AppendUint32(e, 6)
			e = append(e, 10, byte(d), byte(s), 1, 192, 0, 2, byte(s*8+d))
			e = be.AppendUint32(e, 40000)
			e = be.AppendUint32(e, 443)
			e = be.AppendUint32(e, 0x18)
			e = be.AppendUint32(e, 0)
			body := be.AppendUint32(nil, uint32(s))
			for _, v := range []uint32{3, 1024, 1024 * 8, 0, uint32(s % 4), uint32((s + 1) % 4), 1} {
				body = be.AppendUint32(body, v)
			}
			body = append(body, e...)
			b = be.AppendUint32(b, 1)
			b = be.AppendUint32(b, uint32(len(body)))
			b = append(b, body...)
		}
		out = append(out, b)
	}
	return out
}

type stream struct {
	name    string
	typ     flowinput.Type
	dgs     [][]byte
	records int
}

func streams() []stream {
	return []stream{
		{"netflow_v5", flowinput.TypeNetFlow, v5Stream(), 64 * 30},
		{"netflow_v5_distinct", flowinput.TypeNetFlow, v5DistinctStream(), 65536 + 14},
		{"sflow", flowinput.TypeSFlow, sflowStream(), 64 * 8},
	}
}

// benchPipeline: decode + flow handler (default groups), one goroutine.
func benchPipeline(b *testing.B, s stream) {
	h, err := flowhandler.New("bench", handler.Config{}, handler.Env{})
	if err != nil {
		b.Fatal(err)
	}
	in := flowinput.New(s.typ, nil)
	in.Attach(h.(handler.FlowConsumer))
	w := in.NewWorker()
	ex := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, dg := range s.dgs {
			if err := in.Process(w, ex, now, dg); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*s.records)/b.Elapsed().Seconds(), "records/s")
}

// benchGoflow2Decode: goflow2's decoder alone on the same stream.
func benchGoflow2Decode(b *testing.B, s stream) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, dg := range s.dgs {
			var err error
			if s.typ == flowinput.TypeSFlow {
				var p sflow.Packet
				err = sflow.DecodeMessageVersion(bytes.NewBuffer(dg), &p)
			} else {
				var p netflowlegacy.PacketNetFlowV5
				err = netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(dg), &p)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*s.records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkPipeline(b *testing.B) {
	for _, s := range streams() {
		b.Run(s.name+"/visor_decode+handler", func(b *testing.B) { benchPipeline(b, s) })
		b.Run(s.name+"/goflow2_decode_only", func(b *testing.B) { benchGoflow2Decode(b, s) })
	}
}

// TestPipelineVsGoflow2 prints records/s per CPU of our decode + flow
// handler against goflow2's decoders alone, on the same streams. Runs when
// VISOR_BENCH_RATIO=1.
func TestPipelineVsGoflow2(t *testing.T) {
	if os.Getenv("VISOR_BENCH_RATIO") != "1" {
		t.Skip("set VISOR_BENCH_RATIO=1 to compare with goflow2")
	}
	for _, s := range streams() {
		ours := testing.Benchmark(func(b *testing.B) { benchPipeline(b, s) })
		theirs := testing.Benchmark(func(b *testing.B) { benchGoflow2Decode(b, s) })
		ro := float64(ours.N*s.records) / ours.T.Seconds()
		rt := float64(theirs.N*s.records) / theirs.T.Seconds()
		t.Logf("%-20s visor decode+handler %.2f Mrec/s (%d allocs/op)  goflow2 decode only %.2f Mrec/s (%d allocs/op)  ratio %.2fx",
			s.name, ro/1e6, ours.AllocsPerOp(), rt/1e6, theirs.AllocsPerOp(), ro/rt)
	}
}
