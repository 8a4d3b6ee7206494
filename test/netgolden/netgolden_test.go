package netgolden

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// perfect builds the section an exact implementation would emit for g.
func perfect(g *Golden) Section {
	rows := func(rs []Row) []any {
		out := make([]any, 0, len(rs))
		for _, r := range rs {
			out = append(out, map[string]any{"name": r.Name, "estimate": float64(r.Estimate)})
		}
		return out
	}
	q := func(m map[string]Range) map[string]any {
		out := map[string]any{}
		for k, r := range m {
			out[k] = r[0]
		}
		return out
	}
	p := g.Packets
	return Section{
		"total": float64(p.Total), "ipv4": float64(p.IPv4), "ipv6": float64(p.IPv6),
		"udp": float64(p.UDP), "tcp": float64(p.TCP), "other_l4": float64(p.OtherL4),
		"in": float64(p.In), "out": float64(p.Out), "unknown_dir": float64(p.UnknownDir),
		"filtered": 0.0, "events": float64(p.Total), "deep_samples": float64(p.Total),
		"protocol":    map[string]any{"tcp": map[string]any{"syn": float64(p.Protocol.TCP.Syn)}},
		"cardinality": map[string]any{"src_ips_in": float64(p.Cardinality.SrcIPsIn), "dst_ips_out": float64(p.Cardinality.DstIPsOut)},
		"top_ipv4":    rows(p.TopIPv4), "top_ipv6": rows(p.TopIPv6),
		"payload_size": q(p.PayloadSize),
		"period":       map[string]any{"start_ts": float64(g.StartTS()), "length": float64(g.Length())},
	}
}

func sampleGolden(t *testing.T) *Golden {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Capture == "sample.pcap" && g.HostSpec != "" {
			return g
		}
	}
	t.Fatal("no sample.pcap golden with a host spec")
	return nil
}

// The comparison must accept an exact answer and reject each kind of wrong
// one; otherwise the golden tests prove nothing.
func TestCheckV1HasTeeth(t *testing.T) {
	g := sampleGolden(t)
	if errs := CheckV1(perfect(g), g); len(errs) != 0 {
		t.Fatalf("exact section rejected: %v", errs)
	}
	if errs := CheckPeriod(perfect(g), g); len(errs) != 0 {
		t.Fatalf("exact period rejected: %v", errs)
	}
	top := func(s Section) []any { return s["top_ipv4"].([]any) }
	cases := []struct {
		name   string
		mutate func(Section)
		want   string
	}{
		{"counter", func(s Section) { s["udp"] = s["udp"].(float64) + 1 }, "udp ="},
		{"missing counter", func(s Section) { delete(s, "in") }, "in missing"},
		{"cardinality", func(s Section) {
			c := s["cardinality"].(map[string]any)
			c["src_ips_in"] = c["src_ips_in"].(float64) + 3
		}, "cardinality.src_ips_in"},
		{"estimate below truth", func(s Section) {
			top(s)[0].(map[string]any)["estimate"] = 1.0
		}, "estimate 1"},
		{"unknown address", func(s Section) {
			top(s)[1].(map[string]any)["name"] = "192.0.2.99"
		}, "not a remote address"},
		{"order", func(s Section) {
			l := top(s)
			l[0], l[3] = l[3], l[0]
		}, "not sorted"},
		{"short list", func(s Section) { s["top_ipv4"] = top(s)[:5] }, "has 5 rows"},
		{"heavy hitter missing", func(s Section) {
			l := top(s)
			l[0].(map[string]any)["name"] = l[9].(map[string]any)["name"]
		}, "misses"},
		{"quantile", func(s Section) {
			s["payload_size"].(map[string]any)["p50"] = 500.0
		}, "payload_size.p50"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := perfect(g)
			c.mutate(s)
			errs := CheckV1(s, g)
			if !strings.Contains(strings.Join(errs, "\n"), c.want) {
				t.Fatalf("errors %q do not mention %q", errs, c.want)
			}
		})
	}
}

func TestCardinalityTolerance(t *testing.T) {
	for _, c := range []struct {
		got, want uint64
		ok        bool
	}{
		{10, 10, true}, {11, 10, true}, {12, 10, false},
		{1019, 1000, true}, {1021, 1000, false}, {0, 0, true}, {1, 0, true}, {2, 0, false},
	} {
		var r report
		r.cardinality("c", c.got, c.want)
		if (len(r.errs) == 0) != c.ok {
			t.Errorf("got %d want %d: errors %v, want ok=%v", c.got, c.want, r.errs, c.ok)
		}
	}
}

// With more items than counters, estimates may exceed the truth by
// items/1024 and rows may swap within that slack.
func TestTopNSlack(t *testing.T) {
	truth := map[string]uint64{"a": 5000, "b": 4990, "c": 10}
	for i := range 2048 {
		truth[string(rune('A'+i%26))+strings.Repeat("x", i/26)] = 1
	}
	var items uint64
	for _, c := range truth {
		items += c
	}
	slack := items / TopKCounters
	var r report
	r.topN("t", []Row{{"b", 4990 + slack}, {"a", 5000}}, truth, 2)
	if len(r.errs) != 0 {
		t.Fatalf("within slack rejected: %v", r.errs)
	}
	r = report{}
	r.topN("t", []Row{{"b", 4990 + slack + 1}, {"a", 5000}}, truth, 2)
	if len(r.errs) == 0 {
		t.Fatal("estimate beyond the bound accepted")
	}
}

// The truth script must stay runnable and the committed sample goldens must
// be what it produces today (fixture goldens are checked the same way by
// re-running test/truth/make-goldens.sh; that takes about a minute).
func TestSampleGoldensUpToDate(t *testing.T) {
	for _, tool := range []string{"python3", "tshark", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (test/install-deps.sh installs it)", tool)
		}
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, spec string }{
		{"sample.nohost.json", ""},
		{"sample.host.json", "192.0.2.10/32,2001:db8::10/128"},
	} {
		out := filepath.Join(t.TempDir(), c.file)
		cmd := exec.Command("python3", filepath.Join(root, "test", "truth", "net.py"),
			"--capture", SamplePath(root), "--source", "testdata", "--host-spec", c.spec, "--out", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("net.py: %v\n%s", err, b)
		}
		got, err := readGolden(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := readGolden(filepath.Join(root, "test", "testdata", "golden", "net", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s is stale: run test/truth/make-goldens.sh", c.file)
		}
	}
}

// readGolden decodes a golden without its provenance line (the tshark
// version may differ between machines without changing any number).
func readGolden(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "generated_by")
	return m, nil
}
