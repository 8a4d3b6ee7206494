package flow_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"testing"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/visorng/visor/decode/flow"
)

// BenchStream is a datagram stream as an exporter sends it: templates
// re-sent periodically among data datagrams.
type benchStream struct {
	name    string
	proto   string // "netflow" or "sflow"
	dgs     [][]byte
	records int // flow records in one pass
}

// benchStreams builds representative streams: full NetFlow v5 datagrams,
// v9 and IPFIX with a softflowd-like template re-sent every 16 datagrams,
// and sFlow datagrams of 8 raw-header flow samples plus a counter sample.
func benchStreams() []benchStream {
	v5 := make([]byte, 24, 24+30*48)
	binary.BigEndian.PutUint16(v5, 5)
	binary.BigEndian.PutUint16(v5[2:], 30)
	for i := 0; i < 30; i++ {
		r := make([]byte, 48)
		copy(r, []byte{10, 0, byte(i), 1, 10, 1, byte(i), 2})
		binary.BigEndian.PutUint16(r[12:], 1)
		binary.BigEndian.PutUint16(r[14:], 2)
		binary.BigEndian.PutUint32(r[16:], uint32(i+1))
		binary.BigEndian.PutUint32(r[20:], uint32(1500*(i+1)))
		binary.BigEndian.PutUint16(r[32:], 40000)
		binary.BigEndian.PutUint16(r[34:], 443)
		r[38] = 6
		v5 = append(v5, r...)
	}
	soft := []fieldSpec{{8, 4}, {12, 4}, {22, 4}, {21, 4}, {1, 4}, {2, 4}, {10, 4}, {14, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1}, {60, 1}, {16, 4}, {17, 4}, {9, 1}, {13, 1}}
	rec := func(i int) []byte {
		b := []byte{10, 0, byte(i), 1, 10, 1, byte(i), 2}
		b = be32(b, 1000)
		b = be32(b, 2000)
		b = be32(b, uint32(1500*(i+1)))
		b = be32(b, uint32(i+1))
		b = be32(b, 1)
		b = be32(b, 2)
		b = be16(b, 40000)
		b = be16(b, 443)
		b = append(b, 6, 0x18, 0, 4)
		b = be32(b, 64500)
		b = be32(b, 64501)
		return append(b, 24, 24)
	}
	var recs []byte
	for i := 0; i < 30; i++ {
		recs = append(recs, rec(i)...)
	}
	var v9, ipfix [][]byte
	for i := 0; i < 16; i++ {
		h9 := v9Header(1)
		hx := ipfixHeader(1)
		// goflow2 stops at the header's record count, so it must be right.
		binary.BigEndian.PutUint16(h9[2:], 30)
		if i == 0 {
			binary.BigEndian.PutUint16(h9[2:], 31)
			v9 = append(v9, cat(h9, set(0, templateRecord(256, soft...)), set(256, recs)))
			ipfix = append(ipfix, finishIPFIX(cat(hx, set(2, templateRecord(256, soft...)), set(256, recs))))
			continue
		}
		v9 = append(v9, cat(h9, set(256, recs)))
		ipfix = append(ipfix, finishIPFIX(cat(hx, set(256, recs))))
	}
	var samples [][]byte
	for i := 0; i < 8; i++ {
		samples = append(samples, flowSample(1024, 3, 4, rawIPv4UDP(1514), element(1001, make([]byte, 16))))
	}
	samples = append(samples, counterSampleBytes())
	sf := sflowDatagram([4]byte{10, 0, 0, 1}, samples...)
	return []benchStream{
		{"netflow_v5", "netflow", [][]byte{v5}, 30},
		{"netflow_v9", "netflow", v9, 16 * 30},
		{"ipfix", "netflow", ipfix, 16 * 30},
		{"sflow", "sflow", [][]byte{sf}, 8},
	}
}

func benchOurs(b *testing.B, s benchStream) {
	d := flow.NewDecoder(nil)
	ex := netip.MustParseAddr("192.0.2.1")
	buf := make([]flow.Record, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, dg := range s.dgs {
			var err error
			if s.proto == "sflow" {
				buf, _, err = d.DecodeSFlow(dg, buf)
			} else {
				buf, _, err = d.DecodeNetFlow(ex, t0, dg, buf)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*s.records)/b.Elapsed().Seconds(), "records/s")
}

// benchGoflow2 runs goflow2's decoders over the same stream. They stop at
// goflow2's wire structures (no normalised record, no sampled-header parse),
// so the comparison flatters goflow2.
func benchGoflow2(b *testing.B, s benchStream) {
	templates := netflow.CreateTemplateSystem()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, dg := range s.dgs {
			buf := bytes.NewBuffer(dg)
			var err error
			switch {
			case s.proto == "sflow":
				var p sflow.Packet
				err = sflow.DecodeMessageVersion(buf, &p)
			case s.name == "netflow_v5":
				var p netflowlegacy.PacketNetFlowV5
				err = netflowlegacy.DecodeMessageVersion(buf, &p)
			default:
				var p9 netflow.NFv9Packet
				var px netflow.IPFIXPacket
				err = netflow.DecodeMessageVersion(buf, templates, &p9, &px)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*s.records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range benchStreams() {
		b.Run(s.name+"/visor", func(b *testing.B) { benchOurs(b, s) })
		b.Run(s.name+"/goflow2", func(b *testing.B) { benchGoflow2(b, s) })
	}
}

// TestGoflow2Ratio measures both decoders in the same run and prints the
// per-CPU ratio (each benchmark runs on one goroutine, so records/s is per
// CPU). testing.Benchmark cannot nest inside a benchmark, hence a test; it
// runs only when VISOR_BENCH_RATIO=1.
func TestGoflow2Ratio(t *testing.T) {
	if os.Getenv("VISOR_BENCH_RATIO") != "1" {
		t.Skip("set VISOR_BENCH_RATIO=1 to compare with goflow2")
	}
	for _, s := range benchStreams() {
		ours := testing.Benchmark(func(b *testing.B) { benchOurs(b, s) })
		theirs := testing.Benchmark(func(b *testing.B) { benchGoflow2(b, s) })
		ro := float64(ours.N*s.records) / ours.T.Seconds()
		rt := float64(theirs.N*s.records) / theirs.T.Seconds()
		t.Logf("%-11s visor %6.2f Mrec/s (%d allocs/op)  goflow2 %6.2f Mrec/s (%d allocs/op)  ratio %.1fx",
			s.name, ro/1e6, ours.AllocsPerOp(), rt/1e6, theirs.AllocsPerOp(), ro/rt)
	}
}
