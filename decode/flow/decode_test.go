package flow_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/visorng/visor/decode/flow"
)

var (
	exA = netip.MustParseAddr("192.0.2.1")
	exB = netip.MustParseAddr("192.0.2.2")
	t0  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestLegacyLengthChecks(t *testing.T) {
	rec := make([]byte, 48)
	v5 := func(count uint16, nrec int) []byte {
		b := make([]byte, 24)
		binary.BigEndian.PutUint16(b, 5)
		binary.BigEndian.PutUint16(b[2:], count)
		for i := 0; i < nrec; i++ {
			b = append(b, rec...)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error
		recs int
	}{
		{"ok", v5(2, 2), nil, 2},
		{"zero count", v5(0, 0), flow.ErrMalformed, 0},
		{"count above 30", v5(31, 31), flow.ErrMalformed, 0},
		{"short", v5(2, 1), flow.ErrTruncated, 0},
		{"trailing bytes", append(v5(1, 1), 0), flow.ErrMalformed, 0},
		{"header only", v5(1, 0)[:10], flow.ErrTruncated, 0},
		{"version 8", func() []byte { b := v5(1, 1); b[1] = 8; return b }(), flow.ErrVersion, 0},
		{"empty", nil, flow.ErrTruncated, 0},
	}
	d := flow.NewDecoder(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, _, err := d.DecodeNetFlow(exA, t0, tc.data, nil)
			if !errors.Is(err, tc.want) || len(recs) != tc.recs {
				t.Fatalf("got %d recs, err %v; want %d, %v", len(recs), err, tc.recs, tc.want)
			}
			var fe *flow.Error
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("error %T is not *flow.Error", err)
			}
		})
	}
}

func TestV9TemplatesPerExporter(t *testing.T) {
	d := flow.NewDecoder(nil)
	// Exporter A: template 256 = basic fields. Exporter B: template 256 with
	// the byte and packet counters swapped. pktvisor's global cache would
	// decode one with the other's layout (quirk 9).
	swapped := append([]fieldSpec(nil), basicFields...)
	swapped[5], swapped[6] = swapped[6], swapped[5]
	tA := cat(v9Header(7), set(0, templateRecord(256, basicFields...)))
	tB := cat(v9Header(7), set(0, templateRecord(256, swapped...)))
	for _, c := range []struct {
		ex   netip.Addr
		data []byte
	}{{exA, tA}, {exB, tB}} {
		recs, info, err := d.DecodeNetFlow(c.ex, t0, c.data, nil)
		if err != nil || len(recs) != 0 || info.Templates != 1 {
			t.Fatalf("template-only datagram: recs %d info %+v err %v", len(recs), info, err)
		}
	}
	data := cat(v9Header(7), set(256, basicRecord(1, 2, 1000, 10)))
	recs, _, err := d.DecodeNetFlow(exA, t0, data, nil)
	if err != nil || len(recs) != 1 || recs[0].Bytes != 1000 || recs[0].Packets != 10 {
		t.Fatalf("A: %+v %v", recs, err)
	}
	recs, _, err = d.DecodeNetFlow(exB, t0, data, nil)
	if err != nil || len(recs) != 1 || recs[0].Bytes != 10 || recs[0].Packets != 1000 {
		t.Fatalf("B: %+v %v", recs, err)
	}
	r := recs[0]
	if r.Src != netip.MustParseAddr("10.0.0.1") || r.DstPort != 80 || r.Proto != 6 || !r.HasInIf || r.OutIf != 2 || r.Device != exB || r.IPVersion != 4 {
		t.Fatalf("fields: %+v", r)
	}
}

func TestUnknownTemplateKeepsRestOfDatagram(t *testing.T) {
	d := flow.NewDecoder(nil)
	data := cat(v9Header(1),
		set(300, basicRecord(1, 2, 5, 5)), // not yet known
		set(0, templateRecord(256, basicFields...)),
		set(256, cat(basicRecord(3, 4, 7, 1), basicRecord(5, 6, 9, 1))),
	)
	recs, info, err := d.DecodeNetFlow(exA, t0, data, nil)
	if err != nil || len(recs) != 2 || info.UnknownSets != 1 || info.UnknownBytes != 25 {
		t.Fatalf("recs %d info %+v err %v", len(recs), info, err)
	}
}

func TestTemplateExpiry(t *testing.T) {
	tc := flow.NewTemplateCache(time.Minute, 0, 0)
	d := flow.NewDecoder(tc)
	if _, _, err := d.DecodeNetFlow(exA, t0, cat(v9Header(1), set(0, templateRecord(256, basicFields...))), nil); err != nil {
		t.Fatal(err)
	}
	data := cat(v9Header(1), set(256, basicRecord(1, 2, 5, 5)))
	if recs, _, _ := d.DecodeNetFlow(exA, t0.Add(59*time.Second), data, nil); len(recs) != 1 {
		t.Fatal("template expired early")
	}
	recs, info, err := d.DecodeNetFlow(exA, t0.Add(61*time.Second), data, nil)
	if err != nil || len(recs) != 0 || info.UnknownSets != 1 {
		t.Fatalf("after TTL: recs %d info %+v err %v", len(recs), info, err)
	}
	tc.Expire(t0.Add(time.Hour))
	if s := tc.Stats(); s.Templates != 0 || s.Expired != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestIPFIX(t *testing.T) {
	d := flow.NewDecoder(nil)
	// Template: enterprise field (skipped), variable-length field, IPv6
	// addresses, 8-byte counters, reduced-size (2-byte) ifIndex, 2-byte TCP flags.
	tmpl := be16(nil, 400)
	tmpl = be16(tmpl, 8)
	tmpl = cat(tmpl, be16(be16(nil, 0x8000|77), 3), be32(nil, 9)) // PEN 9, 3 bytes
	for _, f := range []fieldSpec{{82, 0xffff}, {27, 16}, {28, 16}, {1, 8}, {2, 8}, {10, 2}, {6, 2}} {
		tmpl = be16(be16(tmpl, f.ie), f.length)
	}
	opt := cat(be16(nil, 401), be16(nil, 2), be16(nil, 1), be16(be16(nil, 149), 4), be16(be16(nil, 41), 8))
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	rec := func(name string) []byte {
		b := []byte{1, 2, 3}
		if len(name) < 255 {
			b = append(b, byte(len(name)))
		} else {
			b = append(b, 255)
			b = be16(b, uint16(len(name)))
		}
		b = append(b, name...)
		s, ds := src.As16(), dst.As16()
		b = append(b, s[:]...)
		b = append(b, ds[:]...)
		b = binary.BigEndian.AppendUint64(b, 1<<40)
		b = binary.BigEndian.AppendUint64(b, 3)
		b = be16(b, 9)
		return be16(b, 0x0012)
	}
	long := string(make([]byte, 300))
	msg := finishIPFIX(cat(ipfixHeader(5),
		set(2, tmpl), set(3, opt),
		set(401, cat(be32(nil, 5), binary.BigEndian.AppendUint64(nil, 1))),
		set(400, cat(rec("eth0"), rec(long), []byte{0, 0, 0})), // 3 bytes of padding
	))
	recs, info, err := d.DecodeNetFlow(exA, t0, append(msg, 0xde, 0xad), nil) // bytes after the message are ignored
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || info.OptionRecords != 1 || info.Templates != 1 || info.OptionTemplates != 1 {
		t.Fatalf("recs %d info %+v", len(recs), info)
	}
	for _, r := range recs {
		if r.Src != src || r.Dst != dst || r.Bytes != 1<<40 || r.Packets != 3 || r.InIf != 9 || r.TCPFlags != 0x12 || r.IPVersion != 6 {
			t.Fatalf("record %+v", r)
		}
	}
	// Withdrawal.
	wd := finishIPFIX(cat(ipfixHeader(5), set(2, cat(be16(nil, 400), be16(nil, 0)))))
	if _, info, err := d.DecodeNetFlow(exA, t0, wd, nil); err != nil || info.Withdrawals != 1 {
		t.Fatalf("withdrawal: %+v %v", info, err)
	}
	dataOnly := finishIPFIX(cat(ipfixHeader(5), set(400, rec("eth0"))))
	if recs, info, _ := d.DecodeNetFlow(exA, t0, dataOnly, nil); len(recs) != 0 || info.UnknownSets != 1 {
		t.Fatalf("after withdrawal: %d recs, %+v", len(recs), info)
	}
}

func TestAdversarialTemplates(t *testing.T) {
	t.Run("flood one exporter", func(t *testing.T) {
		tc := flow.NewTemplateCache(0, 64, 256)
		d := flow.NewDecoder(tc)
		for id := 256; id < 256+5000; id++ {
			data := cat(v9Header(1), set(0, templateRecord(uint16(id), basicFields...)))
			if _, _, err := d.DecodeNetFlow(exA, t0, data, nil); err != nil {
				t.Fatal(err)
			}
		}
		if n := tc.Len(exA); n != 64 {
			t.Fatalf("exporter holds %d templates, bound 64", n)
		}
		if s := tc.Stats(); s.Evicted != 5000-64 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("flood many exporters", func(t *testing.T) {
		tc := flow.NewTemplateCache(0, 64, 256)
		d := flow.NewDecoder(tc)
		for i := 0; i < 1000; i++ {
			ex := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			data := cat(v9Header(1), set(0, cat(templateRecord(256, basicFields...), templateRecord(257, basicFields...))))
			if _, _, err := d.DecodeNetFlow(ex, t0, data, nil); err != nil {
				t.Fatal(err)
			}
		}
		if s := tc.Stats(); s.Templates != 256 || s.Evicted != 2000-256 {
			t.Fatalf("stats %+v", s)
		}
	})
	tests := []struct {
		name string
		data []byte
		want error // nil: decodes without error
		bad  int   // templates rejected
	}{
		{"huge field count beyond set", cat(v9Header(1), set(0, cat(be16(nil, 256), be16(nil, 65535), make([]byte, 40)))), flow.ErrTruncated, 0},
		{"too many fields", cat(v9Header(1), set(0, templateRecord(256, make([]fieldSpec, flow.MaxTemplateFields+1)...))), nil, 1},
		{"zero-length fields", cat(v9Header(1), set(0, templateRecord(256, fieldSpec{8, 0}, fieldSpec{12, 0}))), nil, 1},
		{"set length beyond datagram", func() []byte {
			b := cat(v9Header(1), set(0, templateRecord(256, basicFields...)))
			binary.BigEndian.PutUint16(b[22:], 5000)
			return b
		}(), flow.ErrTruncated, 0},
		{"set length below header", cat(v9Header(1), []byte{1, 0, 0, 2, 0, 0}), flow.ErrMalformed, 0},
		{"template id below 256", cat(v9Header(1), set(0, templateRecord(5, basicFields...))), flow.ErrMalformed, 0},
		{"ipfix length beyond datagram", func() []byte {
			b := finishIPFIX(ipfixHeader(1))
			binary.BigEndian.PutUint16(b[2:], 400)
			return b
		}(), flow.ErrTruncated, 0},
		{"ipfix length below header", func() []byte {
			b := finishIPFIX(ipfixHeader(1))
			binary.BigEndian.PutUint16(b[2:], 3)
			return b
		}(), flow.ErrMalformed, 0},
		{"v9 options lengths not multiple of 4", cat(v9Header(1), set(1, cat(be16(nil, 300), be16(nil, 3), be16(nil, 4), make([]byte, 8)))), flow.ErrMalformed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := flow.NewDecoder(nil)
			_, info, err := d.DecodeNetFlow(exA, t0, tc.data, nil)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) || info.BadTemplates != tc.bad {
				t.Fatalf("err %v (want %v), bad templates %d (want %d)", err, tc.want, info.BadTemplates, tc.bad)
			}
		})
	}
	t.Run("one-byte records bounded", func(t *testing.T) {
		d := flow.NewDecoder(nil)
		d.SetMaxRecords(100)
		data := cat(v9Header(1), set(0, templateRecord(256, fieldSpec{4, 1})), set(256, make([]byte, 1000)))
		recs, _, err := d.DecodeNetFlow(exA, t0, data, nil)
		if !errors.Is(err, flow.ErrMalformed) || len(recs) != 100 {
			t.Fatalf("%d recs, err %v", len(recs), err)
		}
	})
	t.Run("variable length past set", func(t *testing.T) {
		d := flow.NewDecoder(nil)
		tm := finishIPFIX(cat(ipfixHeader(1), set(2, templateRecord(256, fieldSpec{82, 0xffff}, fieldSpec{4, 1}))))
		if _, _, err := d.DecodeNetFlow(exA, t0, tm, nil); err != nil {
			t.Fatal(err)
		}
		data := finishIPFIX(cat(ipfixHeader(1), set(256, []byte{2, 'a', 'b', 6, 200, 'x'})))
		recs, _, err := d.DecodeNetFlow(exA, t0, data, nil)
		if !errors.Is(err, flow.ErrTruncated) || len(recs) != 1 || recs[0].Proto != 6 {
			t.Fatalf("%d recs, err %v", len(recs), err)
		}
	})
}

func TestSFlow(t *testing.T) {
	agent := [4]byte{10, 9, 8, 7}
	tests := []struct {
		name  string
		data  []byte
		want  error
		recs  int
		check func(t *testing.T, r []flow.Record, info flow.Info)
	}{
		{"raw header, counters skipped", sflowDatagram(agent, counterSampleBytes(), flowSample(512, 3, 4, rawIPv4UDP(1514))), nil, 1,
			func(t *testing.T, r []flow.Record, info flow.Info) {
				x := r[0]
				if x.Device != netip.AddrFrom4(agent) || x.SampleRate != 512 || x.Bytes != 1514 || x.Packets != 1 ||
					x.Src != netip.MustParseAddr("192.0.2.1") || x.SrcPort != 12345 || x.DstPort != 53 || x.Proto != 17 || x.TOS != 8 ||
					x.InIf != 3 || x.OutIf != 4 || !x.HasInIf || !x.HasOutIf || info.CounterSamples != 1 {
					t.Fatalf("%+v %+v", x, info)
				}
			}},
		{"compact ifindex formats", sflowDatagram(agent, flowSample(1, 0x3fffffff, 1<<30|7, sampledIPv4(100, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 5, 6))), nil, 1,
			func(t *testing.T, r []flow.Record, _ flow.Info) {
				if r[0].InIf != 0x3fffffff || !r[0].HasInIf || r[0].HasOutIf || r[0].Bytes != 100 || r[0].TOS != 0x20 {
					t.Fatalf("%+v", r[0])
				}
			}},
		{"expanded", sflowDatagram(agent, expandedFlowSample(10, 0, 70000, 2, 3, element(1001, make([]byte, 16)), sampledIPv4(60, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 5, 6))), nil, 1,
			func(t *testing.T, r []flow.Record, _ flow.Info) {
				if r[0].InIf != 70000 || !r[0].HasInIf || r[0].HasOutIf || r[0].SampleRate != 10 || r[0].Bytes != 60 {
					t.Fatalf("%+v", r[0])
				}
			}},
		{"enterprise sample skipped", sflowDatagram(agent, sample(9<<12|1, make([]byte, 12))), nil, 0, nil},
		{"sample length beyond datagram", func() []byte {
			b := sflowDatagram(agent, flowSample(1, 1, 2))
			binary.BigEndian.PutUint32(b[32:], 1<<31)
			return b
		}(), flow.ErrTruncated, 0, nil},
		{"element length beyond sample", sflowDatagram(agent, flowSample(1, 1, 2, cat(be32(nil, 1), be32(nil, 1000)))), flow.ErrTruncated, 0, nil},
		{"huge sample count", func() []byte {
			b := sflowDatagram(agent)
			binary.BigEndian.PutUint32(b[24:], 1<<30)
			return b
		}(), flow.ErrMalformed, 0, nil},
		{"version 4", func() []byte { b := sflowDatagram(agent); b[3] = 4; return b }(), flow.ErrVersion, 0, nil},
		{"raw header length beyond element", sflowDatagram(agent, flowSample(1, 1, 2, element(1, cat(be32(nil, 1), be32(nil, 60), be32(nil, 0), be32(nil, 500))))), flow.ErrTruncated, 0, nil},
	}
	d := flow.NewDecoder(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, info, err := d.DecodeSFlow(tc.data, nil)
			if !errors.Is(err, tc.want) || len(recs) != tc.recs {
				t.Fatalf("%d recs, err %v; want %d, %v", len(recs), err, tc.recs, tc.want)
			}
			if tc.check != nil {
				tc.check(t, recs, info)
			}
		})
	}
}

// TestSteadyStateAllocs: once templates are known and the record slice has
// grown, decoding a datagram allocates nothing.
func TestSteadyStateAllocs(t *testing.T) {
	fx := fixtures(t)
	for _, c := range fixtureCases {
		dgs := readDatagrams(t, filepath.Join(fx, c.name+".pcap"))
		d := flow.NewDecoder(nil)
		buf := make([]flow.Record, 0, 64)
		run := func() {
			for _, dg := range dgs {
				if c.proto == "sflow" {
					buf, _, _ = d.DecodeSFlow(dg.data, buf)
				} else {
					buf, _, _ = d.DecodeNetFlow(dg.src, dg.ts, dg.data, buf)
				}
			}
		}
		run()
		if a := testing.AllocsPerRun(50, run); a != 0 {
			t.Errorf("%s: %.1f allocations per pass over the capture", c.name, a)
		}
	}
}
