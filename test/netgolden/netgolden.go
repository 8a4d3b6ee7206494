// Package netgolden loads the net handler goldens written by
// test/truth/net.py (tshark's view of each capture under pktvisor's
// semantics) and compares handler JSON sections with them: counters
// exactly, estimates within the sketches' stated error.
//
// Both the handler-level golden test and the pktvisor-reader end-to-end
// test use it, so the two agree on what "matches the golden" means.
package netgolden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Error bounds of our sketches, as documented by agent/handler and
// sketches: HLL precision 14 (σ ≈ 0.8 %), Space-Saving with 1024 counters,
// DDSketch with 1 % relative accuracy.
const (
	// CardinalityRelTol is the allowed relative cardinality error (about
	// 2.5σ at precision 14); small sets must be within CardinalityAbsTol.
	CardinalityRelTol = 0.02
	CardinalityAbsTol = 1
	// TopKCounters is the Space-Saving capacity: an estimate exceeds the
	// true count by at most items/TopKCounters.
	TopKCounters = 1024
	// QuantileRelAcc is the DDSketch relative accuracy.
	QuantileRelAcc = 0.01
)

// Counters are the per-capture totals a tcpdump filter leaves.
type Counters struct {
	Total   uint64 `json:"total"`
	IPv4    uint64 `json:"ipv4"`
	IPv6    uint64 `json:"ipv6"`
	UDP     uint64 `json:"udp"`
	TCP     uint64 `json:"tcp"`
	OtherL4 uint64 `json:"other_l4"`
}

// Row is one top-N entry.
type Row struct {
	Name     string `json:"name"`
	Estimate uint64 `json:"estimate"`
}

// Range is the [lo, hi] band an exact quantile's neighbours span.
type Range [2]float64

// V1 is the golden "packets" section.
type V1 struct {
	Counters
	In         uint64 `json:"in"`
	Out        uint64 `json:"out"`
	UnknownDir uint64 `json:"unknown_dir"`
	Protocol   struct {
		TCP struct {
			Syn uint64 `json:"syn"`
		} `json:"tcp"`
	} `json:"protocol"`
	BytesTotal  uint64 `json:"bytes_total"`
	Cardinality struct {
		SrcIPsIn  uint64 `json:"src_ips_in"`
		DstIPsOut uint64 `json:"dst_ips_out"`
	} `json:"cardinality"`
	TopIPv4          []Row             `json:"top_ipv4"`
	TopIPv6          []Row             `json:"top_ipv6"`
	RemoteIPv4Counts map[string]uint64 `json:"remote_ipv4_counts"`
	RemoteIPv6Counts map[string]uint64 `json:"remote_ipv6_counts"`
	PayloadSize      map[string]Range  `json:"payload_size"`
}

// Dir is one direction of the golden "net" (v2) section.
type Dir struct {
	UDP     uint64 `json:"udp_packets"`
	TCP     uint64 `json:"tcp_packets"`
	OtherL4 uint64 `json:"other_l4_packets"`
	IPv4    uint64 `json:"ipv4_packets"`
	IPv6    uint64 `json:"ipv6_packets"`
	Total   uint64 `json:"total_packets"`
	TCPSyn  struct {
		Syn uint64 `json:"syn_packets"`
	} `json:"tcp"`
	Cardinality struct {
		IPs uint64 `json:"ips"`
	} `json:"cardinality"`
	TopIPv4     []Row             `json:"top_ipv4_packets"`
	TopIPv6     []Row             `json:"top_ipv6_packets"`
	IPv4Counts  map[string]uint64 `json:"ipv4_counts"`
	IPv6Counts  map[string]uint64 `json:"ipv6_counts"`
	PayloadSize map[string]Range  `json:"payload_size_bytes"`
}

// Golden is one (capture, host_spec) truth.
type Golden struct {
	File      string              `json:"-"` // golden file name
	Capture   string              `json:"capture"`
	Source    string              `json:"source"` // "testdata" or "fixtures"
	HostSpec  string              `json:"host_spec"`
	FirstTS   float64             `json:"first_ts"`
	LastTS    float64             `json:"last_ts"`
	TopN      int                 `json:"topn_count"`
	Packets   V1                  `json:"packets"`
	Net       map[string]Dir      `json:"net"`
	BPF       map[string]Counters `json:"bpf"`
	CaptureAt string              `json:"-"` // resolved path of the capture
}

// StartTS and Length are the period a single bucket covering the whole
// capture reports: whole seconds of the first packet, and the difference of
// the whole seconds of the last and first.
func (g *Golden) StartTS() int64 { return int64(math.Floor(g.FirstTS)) }
func (g *Golden) Length() int64  { return int64(math.Floor(g.LastTS)) - g.StartTS() }

// RepoRoot walks up from the working directory to the directory holding
// go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FixturesDir is ../shared/fixtures beside the repository.
func FixturesDir(root string) string {
	return filepath.Join(root, "..", "shared", "fixtures")
}

// SamplePath is the committed synthetic capture.
func SamplePath(root string) string {
	return filepath.Join(root, "test", "testdata", "sample.pcap")
}

// Load reads every golden under test/testdata/golden/net and resolves its
// capture. Goldens whose capture is missing (fixtures absent) are returned
// with CaptureAt empty so callers can skip them with a reason.
func Load(root string) ([]*Golden, error) {
	files, err := filepath.Glob(filepath.Join(root, "test", "testdata", "golden", "net", "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no goldens under %s/test/testdata/golden/net (run test/truth/make-goldens.sh)", root)
	}
	var out []*Golden
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		g := &Golden{File: filepath.Base(f)}
		if err := json.Unmarshal(b, g); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		var p string
		switch g.Source {
		case "testdata":
			p = filepath.Join(root, "test", "testdata", g.Capture)
		case "fixtures":
			p = filepath.Join(FixturesDir(root), g.Capture)
		default:
			return nil, fmt.Errorf("%s: unknown source %q", f, g.Source)
		}
		if _, err := os.Stat(p); err == nil {
			g.CaptureAt = p
		}
		out = append(out, g)
	}
	return out, nil
}

// Name is a subtest name: the golden file without its extension.
func (g *Golden) Name() string { return strings.TrimSuffix(g.File, ".json") }

// report collects mismatches.
type report struct{ errs []string }

func (r *report) add(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *report) eq(path string, got, want uint64) {
	if got != want {
		r.add("%s = %d, want %d", path, got, want)
	}
}

func (r *report) cardinality(path string, got, want uint64) {
	tol := max(float64(CardinalityAbsTol), math.Ceil(CardinalityRelTol*float64(want)))
	if math.Abs(float64(got)-float64(want)) > tol {
		r.add("%s = %d, want %d ± %.0f", path, got, want, tol)
	}
}

// topN checks a heavy-hitter list against the exact counts: every row is a
// real item whose estimate respects the Space-Saving bound, rows are
// ordered by estimate and consistently with the true counts (ties free),
// the list has the expected length, and no item missing from a full list
// could outrank its last row.
func (r *report) topN(path string, got []Row, truth map[string]uint64, n int) {
	var items uint64
	for _, c := range truth {
		items += c
	}
	slack := items / TopKCounters
	if want := min(n, len(truth)); len(got) != want {
		r.add("%s has %d rows, want %d", path, len(got), want)
	}
	listed := map[string]bool{}
	for i, row := range got {
		listed[row.Name] = true
		t, ok := truth[row.Name]
		if !ok {
			r.add("%s[%d] %q is not a remote address of this capture", path, i, row.Name)
			continue
		}
		if row.Estimate < t || row.Estimate > t+slack {
			r.add("%s[%d] %s estimate %d, true %d (bound +%d)", path, i, row.Name, row.Estimate, t, slack)
		}
		if i > 0 {
			prev := got[i-1]
			if prev.Estimate < row.Estimate {
				r.add("%s not sorted: %s=%d before %s=%d", path, prev.Name, prev.Estimate, row.Name, row.Estimate)
			}
			if pt, ok := truth[prev.Name]; ok && pt+slack < t {
				r.add("%s order: %s (true %d) before %s (true %d)", path, prev.Name, pt, row.Name, t)
			}
		}
	}
	if len(got) == n && n > 0 {
		last := got[len(got)-1].Estimate
		for name, c := range truth {
			if !listed[name] && c > last {
				r.add("%s misses %s (true %d > last row's estimate %d)", path, name, c, last)
			}
		}
	}
}

func (r *report) quantiles(path string, got map[string]float64, want map[string]Range) {
	if len(want) == 0 {
		if len(got) != 0 {
			r.add("%s present (%v) but no packets", path, got)
		}
		return
	}
	for _, k := range []string{"p50", "p90", "p95", "p99"} {
		v, ok := got[k]
		if !ok {
			r.add("%s.%s missing", path, k)
			continue
		}
		lo := math.Floor(want[k][0]*(1-QuantileRelAcc)) - 1
		hi := math.Ceil(want[k][1]*(1+QuantileRelAcc)) + 1
		if v < lo || v > hi {
			r.add("%s.%s = %v, want within [%v, %v]", path, k, v, want[k][0], want[k][1])
		}
	}
}

// Section is a handler section decoded generically.
type Section map[string]any

// Decode round-trips a section (as built by handler.SectionJSON or read
// from the reader's output) through encoding/json.
func Decode(v any) (Section, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var s Section
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return s, nil
}

func (s Section) lookup(path string) (any, bool) {
	var cur any = map[string]any(s)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// Uint reads a counter at a dotted path.
func (s Section) Uint(path string) (uint64, bool) {
	v, ok := s.lookup(path)
	f, isNum := v.(float64)
	if !ok || !isNum || f < 0 || f != math.Trunc(f) {
		return 0, false
	}
	return uint64(f), true
}

// Rows reads a top-N list at a dotted path.
func (s Section) Rows(path string) ([]Row, bool) {
	v, ok := s.lookup(path)
	list, isList := v.([]any)
	if !ok || !isList {
		return nil, false
	}
	rows := make([]Row, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		name, _ := m["name"].(string)
		est, _ := m["estimate"].(float64)
		rows = append(rows, Row{Name: name, Estimate: uint64(est)})
	}
	return rows, true
}

// Object reads a map of numbers (quantiles) at a dotted path.
func (s Section) Object(path string) (map[string]float64, bool) {
	v, ok := s.lookup(path)
	m, isMap := v.(map[string]any)
	if !ok || !isMap {
		return nil, false
	}
	out := map[string]float64{}
	for k, x := range m {
		if f, ok := x.(float64); ok {
			out[k] = f
		}
	}
	return out, true
}

// Sub returns the object at path as a Section.
func (s Section) Sub(path string) (Section, bool) {
	v, ok := s.lookup(path)
	m, isMap := v.(map[string]any)
	return Section(m), ok && isMap
}

func (r *report) counter(s Section, path string, want uint64) {
	got, ok := s.Uint(path)
	if !ok {
		r.add("%s missing or not a counter", path)
		return
	}
	r.eq(path, got, want)
}

// CheckPeriod compares period.start_ts and period.length with a single
// bucket spanning the capture.
func CheckPeriod(s Section, g *Golden) []string {
	var r report
	r.counter(s, "period.start_ts", uint64(g.StartTS()))
	r.counter(s, "period.length", uint64(g.Length()))
	return r.errs
}

// CheckCountersV1 compares only the counters of a "packets" section (what a
// tcpdump-filtered run can be checked against).
func CheckCountersV1(s Section, c Counters) []string {
	var r report
	r.counter(s, "total", c.Total)
	r.counter(s, "ipv4", c.IPv4)
	r.counter(s, "ipv6", c.IPv6)
	r.counter(s, "udp", c.UDP)
	r.counter(s, "tcp", c.TCP)
	r.counter(s, "other_l4", c.OtherL4)
	return r.errs
}

// CheckV1 compares a net v1 ("packets") section with the golden, every
// packet deep-sampled and none filtered by the handler.
func CheckV1(s Section, g *Golden) []string {
	var r report
	p := &g.Packets
	r.errs = append(r.errs, CheckCountersV1(s, p.Counters)...)
	r.counter(s, "in", p.In)
	r.counter(s, "out", p.Out)
	r.counter(s, "unknown_dir", p.UnknownDir)
	r.counter(s, "protocol.tcp.syn", p.Protocol.TCP.Syn)
	r.counter(s, "filtered", 0)
	r.counter(s, "events", p.Total)
	r.counter(s, "deep_samples", p.Total)
	for _, c := range []struct {
		path string
		want uint64
	}{{"cardinality.src_ips_in", p.Cardinality.SrcIPsIn}, {"cardinality.dst_ips_out", p.Cardinality.DstIPsOut}} {
		got, ok := s.Uint(c.path)
		if !ok {
			r.add("%s missing", c.path)
			continue
		}
		r.cardinality(c.path, got, c.want)
	}
	for _, c := range []struct {
		path  string
		truth map[string]uint64
	}{{"top_ipv4", p.RemoteIPv4Counts}, {"top_ipv6", p.RemoteIPv6Counts}} {
		rows, ok := s.Rows(c.path)
		if !ok {
			r.add("%s missing or not a list", c.path)
			continue
		}
		r.topN(c.path, rows, c.truth, g.TopN)
	}
	q, _ := s.Object("payload_size")
	r.quantiles("payload_size", q, p.PayloadSize)
	return r.errs
}

// CheckV2 compares a net v2 ("net") section with the golden.
func CheckV2(s Section, g *Golden) []string {
	var r report
	r.counter(s, "observed_packets", g.Packets.Total)
	r.counter(s, "deep_sampled_packets", g.Packets.Total)
	r.counter(s, "filtered_packets", 0)
	dirs := []string{"in", "out", "unknown"}
	for _, name := range dirs {
		want, inGolden := g.Net[name]
		d, inOutput := s.Sub(name)
		if !inGolden {
			if inOutput {
				r.add("%s present but the capture has no %s packets", name, name)
			}
			continue
		}
		if !inOutput {
			r.add("%s missing", name)
			continue
		}
		var dr report
		dr.counter(d, "udp_packets", want.UDP)
		dr.counter(d, "tcp_packets", want.TCP)
		dr.counter(d, "other_l4_packets", want.OtherL4)
		dr.counter(d, "ipv4_packets", want.IPv4)
		dr.counter(d, "ipv6_packets", want.IPv6)
		dr.counter(d, "total_packets", want.Total)
		dr.counter(d, "tcp.syn_packets", want.TCPSyn.Syn)
		if got, ok := d.Uint("cardinality.ips"); ok {
			dr.cardinality("cardinality.ips", got, want.Cardinality.IPs)
		} else {
			dr.add("cardinality.ips missing")
		}
		for _, c := range []struct {
			path  string
			truth map[string]uint64
		}{{"top_ipv4_packets", want.IPv4Counts}, {"top_ipv6_packets", want.IPv6Counts}} {
			rows, ok := d.Rows(c.path)
			if !ok {
				dr.add("%s missing or not a list", c.path)
				continue
			}
			dr.topN(c.path, rows, c.truth, g.TopN)
		}
		q, _ := d.Object("payload_size_bytes")
		dr.quantiles("payload_size_bytes", q, want.PayloadSize)
		for _, e := range dr.errs {
			r.add("%s.%s", name, e)
		}
	}
	sort.Strings(r.errs)
	return r.errs
}
