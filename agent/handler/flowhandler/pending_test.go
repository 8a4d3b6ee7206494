package flowhandler

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode/flow"
)

// stream makes n datagrams of 30 records drawn from keys distinct flows over
// two devices, IPv4 and IPv6, three interfaces, sampled and unsampled, with
// records that have only one interface. Deterministic for a seed.
func stream(seed uint64, n, keys int) (devs []netip.Addr, dgs [][]flow.Record) {
	r := rand.New(rand.NewPCG(seed, 1))
	pool := make([]flow.Record, keys)
	for i := range pool {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
		dst := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 7)})
		if i%5 == 0 {
			src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
			dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: 1, 15: byte(i % 3)})
		}
		pool[i] = flow.Record{
			Src: src, Dst: dst, SrcPort: uint16(1024 + i), DstPort: []uint16{53, 443, 80, 0}[i%4],
			Proto: []uint8{17, 6, 6, 1}[i%4], TOS: uint8(i % 5 << 2),
			InIf: uint32(i % 3), OutIf: uint32((i + 1) % 3), HasInIf: i%7 != 0, HasOutIf: i%11 != 0,
		}
		if i%2 == 0 {
			pool[i].SampleRate = 100
		}
	}
	devs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	for range n {
		dg := make([]flow.Record, 30)
		for j := range dg {
			// A skewed draw, so some flows are heavy and most repeat.
			dg[j] = pool[min(int(r.ExpFloat64()*float64(keys)/8), keys-1)]
			dg[j].Packets = 1 + r.Uint64N(10)
			dg[j].Bytes = dg[j].Packets * (40 + r.Uint64N(1460))
		}
		dgs = append(dgs, dg)
	}
	return devs, dgs
}

func allGroupsConfig() handler.Config {
	return handler.Config{"enable": []any{"all"}}
}

func sectionBytes(t *testing.T, h *Handler, window bool, p int) string {
	t.Helper()
	s, err := handler.SectionJSON(h, p, window)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAggregationMatchesPerRecord: with fewer distinct keys than the top
// lists' capacity, every list is exact, so a handler that aggregates must
// write byte for byte what one replaying every record at once writes, also
// when read in the middle of the stream.
func TestAggregationMatchesPerRecord(t *testing.T) {
	agg := build(t, allGroupsConfig())
	each := build(t, allGroupsConfig())
	each.pendingLimit = 1
	devs, dgs := stream(7, 400, 120)
	for i, dg := range dgs {
		agg.HandleFlows(devs[i%2], t0, dg)
		each.HandleFlows(devs[i%2], t0, dg)
		if i == 150 {
			if got, want := sectionBytes(t, agg, false, 0), sectionBytes(t, each, false, 0); got != want {
				t.Fatalf("mid-stream read differs:\n got %s\nwant %s", got, want)
			}
		}
	}
	got, want := sectionBytes(t, agg, false, 0), sectionBytes(t, each, false, 0)
	if got != want {
		t.Fatalf("aggregated output differs:\n got %s\nwant %s", got, want)
	}
	if len(got) < 10000 {
		t.Fatalf("suspiciously small output (%d bytes): %s", len(got), got)
	}
}

// TestAggregationInWindows: a merged window reads the live bucket's pending
// records, and rotation replays the closing bucket's.
func TestAggregationInWindows(t *testing.T) {
	cfg := allGroupsConfig()
	mk := func() *Handler {
		h, err := New("flow", handler.Config{"enable": cfg["enable"], "num_periods": uint64(3), "recorded_stream": true}, handler.Env{})
		if err != nil {
			t.Fatal(err)
		}
		return h.(*Handler)
	}
	agg, each := mk(), mk()
	each.pendingLimit = 1
	agg.StartAt(t0)
	each.StartAt(t0)
	devs, dgs := stream(11, 300, 100)
	for i, dg := range dgs {
		ts := t0.Add(time.Duration(i) * time.Second / 2) // 150 s: three buckets
		agg.HandleFlows(devs[i%2], ts, dg)
		each.HandleFlows(devs[i%2], ts, dg)
	}
	for p := range 3 {
		if got, want := sectionBytes(t, agg, false, p), sectionBytes(t, each, false, p); got != want {
			t.Errorf("bucket %d differs:\n got %s\nwant %s", p, got, want)
		}
	}
	if got, want := sectionBytes(t, agg, true, 3), sectionBytes(t, each, true, 3); got != want {
		t.Errorf("window differs:\n got %s\nwant %s", got, want)
	}
}

// TestAggregationBeyondCapacity: with far more distinct flows than the
// pending table and the top lists hold, counters stay exact and a planted
// heavy hitter still leads its list with an estimate within Space-Saving's
// bound.
func TestAggregationBeyondCapacity(t *testing.T) {
	agg := build(t, handler.Config{})
	dev := netip.MustParseAddr("192.0.2.1")
	heavy := netip.MustParseAddr("198.51.100.77")
	var total, heavyBytes uint64
	dg := make([]flow.Record, 0, 30)
	for i := range 3 * maxPending * 4 {
		r := rec("10.0.0.1", "192.0.2.9", uint16(i), 443, 6, 1, 2, 100, 1)
		r.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if i%10 == 0 {
			r.Src, r.Bytes = heavy, 1000
			heavyBytes += r.Bytes
		}
		total += r.Bytes
		dg = append(dg, r)
		if len(dg) == cap(dg) {
			agg.HandleFlows(dev, t0, dg)
			dg = dg[:0]
		}
	}
	agg.HandleFlows(dev, t0, dg)
	if n := len(agg.mgr.Live(t0).pend.keys); n >= maxPending {
		t.Fatalf("pending holds %d aggregates, bound %d", n, maxPending)
	}
	s := section(t, agg)
	if v := path(s, "devices", "192.0.2.1", "interfaces", "1", "in_bytes"); v != float64(total) {
		t.Errorf("in_bytes %v, want %d", v, total)
	}
	top, _ := path(s, "devices", "192.0.2.1", "interfaces", "1", "top_in_src_ips_bytes").([]any)
	if len(top) == 0 {
		t.Fatalf("no top_in_src_ips_bytes in %v", path(s, "devices", "192.0.2.1", "interfaces", "1"))
	}
	first := top[0].(map[string]any)
	est := uint64(first["estimate"].(float64))
	if first["name"] != heavy.String() || est < heavyBytes || est > heavyBytes+total/flowTopCapacity {
		t.Errorf("top src %v, want %s with estimate in [%d, %d]", first, heavy, heavyBytes, heavyBytes+total/flowTopCapacity)
	}
}

// BenchmarkHandleFlowsDistinct: every record a new flow, the worst case for
// aggregation (see BenchmarkHandleFlows for the repeating case).
func BenchmarkHandleFlowsDistinct(b *testing.B) {
	h, _ := New("flow", handler.Config{"num_periods": uint64(1)}, handler.Env{})
	fh := h.(*Handler)
	recs := make([]flow.Record, 30)
	dev := netip.MustParseAddr("192.0.2.1")
	n := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		for i := range recs {
			recs[i] = rec("198.51.100.1", "203.0.113.5", uint16(n), 53, 17, 3, 7, 100, 2)
			recs[i].Src = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
			n += 2654435761
		}
		fh.HandleFlows(dev, t0, recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// BenchmarkHandleFlowsInterfaces: distinct records spread over 1, 4 and 16
// interfaces, where the number of live sketches outgrows the cache; the
// list-by-list replay is what keeps the cost from tripling.
func BenchmarkHandleFlowsInterfaces(b *testing.B) {
	for _, nif := range []uint32{1, 4, 16} {
		b.Run(fmt.Sprintf("ifaces=%d", nif), func(b *testing.B) {
			h, _ := New("flow", handler.Config{"num_periods": uint64(1)}, handler.Env{})
			fh := h.(*Handler)
			recs := make([]flow.Record, 30)
			for i := range recs {
				recs[i] = rec("198.51.100.1", "203.0.113.5", 0, 53, 17, 1, 1, 100, 2)
			}
			dev := netip.MustParseAddr("192.0.2.1")
			n := uint32(0)
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					r := &recs[i]
					r.Src = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
					r.SrcPort, r.InIf, r.OutIf = uint16(n), 1+n%nif, 1+(n+1)%nif
					n += 2654435761
				}
				fh.HandleFlows(dev, t0, recs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
		})
	}
}
