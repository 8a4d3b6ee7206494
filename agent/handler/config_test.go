package handler

import (
	"testing"

	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/sketches"
)

func TestValidateMessage(t *testing.T) {
	err := Config{"bogus": true, "num_periods": uint64(2)}.Validate([]string{"geoloc_notfound"})
	want := "bogus is an invalid/unsupported config or filter. The valid configs/filters are: geoloc_notfound, deep_sample_rate, num_periods, topn_count, topn_percentile_threshold"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if err := (Config{"recorded_stream": true, "enable": []string{"x"}}).Validate(nil); err != nil {
		t.Fatalf("common keys rejected: %v", err)
	}
}

func TestTypedGetters(t *testing.T) {
	c := Config{"u": uint64(7), "s": "53", "b": "TRUE", "l": []any{"a", uint64(2)}, "f": 3.0, "neg": -1, "m": map[string]any{"k": "v"}}
	if v, err := c.Uint("u", 0); err != nil || v != 7 {
		t.Errorf("Uint u = %v, %v", v, err)
	}
	if v, err := c.Uint("s", 0); err != nil || v != 53 {
		t.Errorf("Uint s = %v, %v", v, err)
	}
	if v, err := c.Uint("f", 0); err != nil || v != 3 {
		t.Errorf("Uint f = %v, %v", v, err)
	}
	if _, err := c.Uint("neg", 0); err == nil {
		t.Error("negative accepted as uint")
	}
	if v, err := c.Bool("b", false); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if _, err := c.Bool("u", false); err == nil {
		t.Error("number accepted as bool")
	}
	if v, err := c.StringList("l"); err != nil || len(v) != 2 || v[1] != "2" {
		t.Errorf("StringList = %v, %v", v, err)
	}
	if v, err := c.Map("m"); err != nil || v["k"] != "v" {
		t.Errorf("Map = %v, %v", v, err)
	}
	if v, err := c.Uint("missing", 9); err != nil || v != 9 {
		t.Errorf("default = %v, %v", v, err)
	}
}

func TestParseCommonClamps(t *testing.T) {
	c, err := ParseCommon("x", Config{"num_periods": uint64(50), "deep_sample_rate": uint64(0), "topn_count": uint64(3)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Periods != 10 || c.SampleRate != 100 || c.TopN != 3 {
		t.Fatalf("got %+v", c)
	}
}

func TestGroups(t *testing.T) {
	all := []string{"b", "a", "c"}
	g, err := ParseGroups(Config{"disable": []any{"all"}, "enable": []any{"c"}}, all, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if g.On("a") || g.On("b") || !g.On("c") {
		t.Fatalf("groups %v", g)
	}
	_, err = ParseGroups(Config{"enable": []any{"zz"}}, all, nil)
	if err == nil || err.Error() != "zz is an invalid/unsupported metric group. The valid groups are: all, a, b, c" {
		t.Fatalf("err %v", err)
	}
	none, _ := ParseGroups(Config{"disable": "all"}, all, all)
	if none.Any() {
		t.Fatal("all disabled but Any")
	}
}

func TestRowsPercentileCut(t *testing.T) {
	items := []sketches.Item[string]{{Key: "a", Estimate: 100}, {Key: "b", Estimate: 50}, {Key: "c", Estimate: 10}, {Key: "d", Estimate: 1}}
	id := func(s string) string { return s }
	if rows := Rows(Common{TopN: 10}, items, id); len(rows) != 4 {
		t.Fatalf("no cut: %v", rows)
	}
	if rows := Rows(Common{TopN: 2}, items, id); len(rows) != 2 || rows[1] != (metrics.Entry{Name: "b", Estimate: 50}) {
		t.Fatalf("topn: %v", rows)
	}
	// 50th percentile of {1,10,50,100} is 10: rows below 10 are cut.
	if rows := Rows(Common{TopN: 10, TopNPercentile: 50}, items, id); len(rows) != 3 {
		t.Fatalf("percentile cut: %v", rows)
	}
}

func TestRowsMergeCollidingNames(t *testing.T) {
	// Ports 40001 and 40002 both render as one service range: one row.
	items := []sketches.Item[int]{{Key: 1, Estimate: 5}, {Key: 40001, Estimate: 4}, {Key: 40002, Estimate: 3}, {Key: 2, Estimate: 1}}
	name := func(k int) string {
		if k > 40000 {
			return "registered-40k"
		}
		return "p" + string(rune('0'+k))
	}
	rows := Rows(Common{TopN: 2}, items, name)
	want := []metrics.Entry{{Name: "registered-40k", Estimate: 7}, {Name: "p1", Estimate: 5}}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("rows %v, want %v", rows, want)
	}
}
