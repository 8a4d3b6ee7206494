package flow_test

import (
	"path/filepath"
	"testing"
)

// TestFixtureInfo checks what the fixtures carry besides flow records:
// options templates and their data are handled without dropping datagrams
// (quirk 9 fixed), and template-only datagrams are not errors.
func TestFixtureInfo(t *testing.T) {
	fx := fixtures(t)
	type sums struct{ templates, optTemplates, optRecords, unknown, counters int }
	want := map[string]sums{
		"nf9":   {templates: 1, optTemplates: 2, optRecords: 1},
		"ipfix": {templates: 88, optTemplates: 1, optRecords: 1},
		"nf5":   {},
	}
	for name, w := range want {
		proto := "netflow"
		dgs := readDatagrams(t, filepath.Join(fx, name+".pcap"))
		_, infos := decodeAll(t, proto, dgs)
		var got sums
		for _, in := range infos {
			got.templates += in.Templates
			got.optTemplates += in.OptionTemplates
			got.optRecords += in.OptionRecords
			got.unknown += in.UnknownSets
			got.counters += in.CounterSamples
		}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}
}
