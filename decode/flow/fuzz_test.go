package flow_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/visorng/visor/decode/flow"
)

// fuzzSeeds adds every datagram of the named fixtures (when the shared
// fixtures exist) plus hand-made ones, so fuzzing starts from real layouts.
func fuzzSeeds(f *testing.F, names []string, built ...[]byte) {
	for _, b := range built {
		f.Add(b)
	}
	d := filepath.Join(repoRoot(f), "..", "shared", "fixtures")
	if _, err := os.Stat(d); err != nil {
		return
	}
	for _, n := range names {
		for _, dg := range readDatagrams(f, filepath.Join(d, n+".pcap")) {
			f.Add(dg.data)
		}
	}
}

// fuzzNetFlow feeds the datagram twice to a decoder with small bounds (so a
// template the input defines is in force for the second pass) and checks
// the invariants: no panic, records bounded, cache within its bounds.
func fuzzNetFlow(t *testing.T, data []byte) {
	tc := flow.NewTemplateCache(0, 8, 16)
	d := flow.NewDecoder(tc)
	d.SetMaxRecords(256)
	ex := netip.MustParseAddr("192.0.2.1")
	var buf []flow.Record
	for i := 0; i < 2; i++ {
		recs, info, _ := d.DecodeNetFlow(ex, t0, data, buf)
		if len(recs) > 256 || info.Records < 0 {
			t.Fatalf("%d records", len(recs))
		}
		for _, r := range recs {
			if r.Device != ex {
				t.Fatalf("device %v", r.Device)
			}
		}
		buf = recs
	}
	if s := tc.Stats(); s.Templates > 16 || tc.Len(ex) > 8 {
		t.Fatalf("cache beyond bounds: %+v", s)
	}
}

func FuzzNetFlowV5(f *testing.F) {
	v5 := make([]byte, 24+48)
	v5[1], v5[3] = 5, 1
	fuzzSeeds(f, []string{"nf1", "nf5", "nf7"}, v5)
	f.Fuzz(fuzzNetFlow)
}

func FuzzNetFlowV9(f *testing.F) {
	fuzzSeeds(f, []string{"nf9"},
		cat(v9Header(1), set(0, templateRecord(256, basicFields...)), set(256, basicRecord(1, 2, 3, 4))),
		cat(v9Header(1), set(1, cat(be16(nil, 300), be16(nil, 4), be16(nil, 4), be16(be16(nil, 1), 4), be16(be16(nil, 2), 4)))))
	f.Fuzz(fuzzNetFlow)
}

func FuzzIPFIX(f *testing.F) {
	fuzzSeeds(f, []string{"ipfix"},
		finishIPFIX(cat(ipfixHeader(1), set(2, templateRecord(256, fieldSpec{82, 0xffff}, fieldSpec{27, 16})), set(256, cat([]byte{1, 'a'}, make([]byte, 16))))))
	f.Fuzz(fuzzNetFlow)
}

func FuzzSFlow(f *testing.F) {
	agent := [4]byte{10, 0, 0, 1}
	fuzzSeeds(f, []string{"sflow_ipv6", "sflow_keyed"},
		sflowDatagram(agent, counterSampleBytes(), flowSample(512, 3, 4, rawIPv4UDP(1514))),
		sflowDatagram(agent, expandedFlowSample(10, 0, 7, 0, 8, sampledIPv4(60, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 5, 6))))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := flow.NewDecoder(nil)
		d.SetMaxRecords(64)
		recs, info, _ := d.DecodeSFlow(data, nil)
		if len(recs) > 64 || info.Records != len(recs) {
			t.Fatalf("%d records, info %d", len(recs), info.Records)
		}
		for _, r := range recs {
			if r.Device != info.Device || r.Packets != 1 {
				t.Fatalf("record %+v", r)
			}
		}
	})
}
