package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/visorng/visor/test/capgen"
	"github.com/visorng/visor/test/netgolden"
)

// The end-to-end tests run the built binary, as a user would, on every
// capture that has a golden.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// readerBinary builds pktvisor-reader once per test process.
func readerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pktvisor-reader-e2e")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "pktvisor-reader")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type result struct {
	stdout, stderr []byte
	code           int
}

func runReader(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(readerBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.Bytes(), errb.Bytes(), code}
}

// packetsSection parses the reader's single JSON line and returns the
// "packets" section under the expected window key.
func packetsSection(t *testing.T, r result, key string) netgolden.Section {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if n := bytes.Count(bytes.TrimSpace(r.stdout), []byte("\n")); n != 0 {
		t.Errorf("stdout has %d lines, want one JSON line", n+1)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(r.stdout, &doc); err != nil {
		t.Fatalf("stdout is not a JSON object of sections: %v\n%s", err, r.stdout)
	}
	if len(doc) != 1 || doc[key] == nil {
		keys := make([]string, 0, len(doc))
		for k := range doc {
			keys = append(keys, k)
		}
		t.Fatalf("top-level keys %v, want only %q", keys, key)
	}
	s, err := netgolden.Decode(doc[key]["packets"])
	if err != nil || s == nil {
		t.Fatalf("no packets section under %q: %s", key, r.stdout)
	}
	return s
}

// checkShape asserts the pktvisor JSON shape of a net v1 section from a
// recorded stream.
func checkShape(t *testing.T, s netgolden.Section) {
	t.Helper()
	for _, p := range []string{"period.start_ts", "period.length", "cardinality.src_ips_in", "cardinality.dst_ips_out",
		"events", "deep_samples", "total"} {
		if _, ok := s.Uint(p); !ok {
			t.Errorf("%s missing or not a non-negative integer", p)
		}
	}
	rates, ok := s.Sub("rates")
	if !ok {
		t.Error("rates missing")
	}
	for name := range rates {
		q, ok := rates.Object(name)
		if !ok {
			t.Errorf("rates.%s is not an object", name)
			continue
		}
		for _, k := range []string{"p50", "p90", "p95", "p99"} {
			if _, ok := q[k]; !ok {
				t.Errorf("rates.%s.%s missing", name, k)
			}
		}
		if _, ok := q["live"]; ok {
			t.Errorf("rates.%s has live in a recorded stream", name)
		}
	}
	for _, p := range []string{"top_ipv4", "top_ipv6"} {
		v, ok := s[p].([]any)
		if !ok {
			t.Errorf("%s is not an array", p)
			continue
		}
		for i, e := range v {
			m, ok := e.(map[string]any)
			_, hasName := m["name"].(string)
			_, hasEst := m["estimate"].(float64)
			if !ok || !hasName || !hasEst || len(m) != 2 {
				t.Errorf("%s[%d] = %v, want {name, estimate}", p, i, e)
			}
		}
	}
}

func loadGoldens(t *testing.T) []*netgolden.Golden {
	t.Helper()
	root, err := netgolden.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := netgolden.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func skipMissing(t *testing.T, g *netgolden.Golden) {
	t.Helper()
	if g.CaptureAt == "" {
		t.Skipf("%s not found (fixtures live in ../shared/fixtures beside the repository)", g.Capture)
	}
}

func report(t *testing.T, errs []string) {
	t.Helper()
	for _, e := range errs {
		t.Error(e)
	}
}

// TestE2EGoldens: summary mode (--periods 1, key "1m") and the default
// five-period window (key "5m"), with -H when the golden has a host spec.
func TestE2EGoldens(t *testing.T) {
	for _, g := range loadGoldens(t) {
		t.Run(g.Name(), func(t *testing.T) {
			skipMissing(t, g)
			t.Parallel()
			var hostArgs []string
			if g.HostSpec != "" {
				hostArgs = []string{"-H", g.HostSpec}
			}
			for _, mode := range []struct {
				key  string
				args []string
			}{{"1m", []string{"--periods", "1"}}, {"5m", nil}} {
				args := append(append(append([]string{}, mode.args...), hostArgs...), g.CaptureAt)
				s := packetsSection(t, runReader(t, args...), mode.key)
				checkShape(t, s)
				report(t, netgolden.CheckV1(s, g))
				report(t, netgolden.CheckPeriod(s, g))
			}
		})
	}
}

// TestE2EFilter: -b must select exactly the frames libpcap's compilation of
// the same expression selects (counted by tcpdump when the goldens were
// made).
func TestE2EFilter(t *testing.T) {
	for _, g := range loadGoldens(t) {
		if g.HostSpec != "" || len(g.BPF) == 0 {
			continue
		}
		t.Run(g.Name(), func(t *testing.T) {
			skipMissing(t, g)
			t.Parallel()
			for expr, want := range g.BPF {
				s := packetsSection(t, runReader(t, "--periods", "1", "-b", expr, g.CaptureAt), "1m")
				for _, e := range netgolden.CheckCountersV1(s, want) {
					t.Errorf("-b %q: %s", expr, e)
				}
			}
		})
	}
}

// damagedRecordOffset walks a classic pcap file and returns the offset of
// the first record that does not fit in the file (-1 when all do).
func damagedRecordOffset(t *testing.T, b []byte) int {
	t.Helper()
	var order binary.ByteOrder = binary.BigEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	}
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return off
		}
		next := off + 16 + int(order.Uint32(b[off+8:]))
		if next > len(b) {
			return off
		}
		off = next
	}
	return -1
}

// TestE2EErrors: bad arguments and unreadable files exit 255 with an
// error on stderr; file errors are one line naming the file (and the
// offset of the damaged record).
func TestE2EErrors(t *testing.T) {
	root, err := netgolden.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sample := netgolden.SamplePath(root)
	dir := t.TempDir()
	good, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.pcap")
	cut := len(good) - 10
	if err := os.WriteFile(truncated, good[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pcap")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a capture "), 20), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "does-not-exist.pcap")

	type tc struct {
		name     string
		args     []string
		oneLine  bool     // a file error: exactly one line on stderr
		mentions []string // substrings of stderr's first line
	}
	cases := []tc{
		{"no file", nil, false, []string{"FILE"}},
		{"two files", []string{sample, sample}, false, []string{"FILE"}},
		{"unknown flag", []string{"--bogus", sample}, false, []string{"bogus"}},
		{"periods 0", []string{"--periods", "0", sample}, false, []string{"periods"}},
		{"periods 11", []string{"--periods", "11", sample}, false, []string{"periods"}},
		{"bad host spec", []string{"-H", "192.0.2.10", sample}, false, []string{"192.0.2.10"}},
		{"bad filter", []string{"-b", "udp and and", sample}, false, []string{"udp and and"}},
		{"missing file", []string{missing}, true, []string{"does-not-exist.pcap"}},
		{"garbage file", []string{garbage}, true, []string{"garbage.pcap", "offset 0"}},
		{"empty file", []string{empty}, true, []string{"empty.pcap"}},
		{"truncated file", []string{"--periods", "1", truncated}, true,
			[]string{"truncated.pcap", fmt.Sprintf("offset %d", damagedRecordOffset(t, good[:cut]))}},
	}
	if fx := netgolden.FixturesDir(root); fileExists(filepath.Join(fx, "dns_udp_tcp_random.pcap")) {
		b, err := os.ReadFile(filepath.Join(fx, "dns_udp_tcp_random.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "dns_udp_tcp_random_cut.pcap")
		cut := len(b) * 2 / 3
		if err := os.WriteFile(p, b[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{"truncated fixture", []string{p}, true,
			[]string{"dns_udp_tcp_random_cut.pcap", fmt.Sprintf("offset %d", damagedRecordOffset(t, b[:cut]))}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runReader(t, c.args...)
			if r.code != 255 {
				t.Errorf("exit code %d, want 255 (stderr %q)", r.code, r.stderr)
			}
			stderr := strings.TrimRight(string(r.stderr), "\n")
			if stderr == "" {
				t.Fatal("nothing on stderr")
			}
			lines := strings.Split(stderr, "\n")
			if c.oneLine && len(lines) != 1 {
				t.Errorf("stderr has %d lines, want one:\n%s", len(lines), stderr)
			}
			for _, m := range c.mentions {
				if !strings.Contains(lines[0], m) {
					t.Errorf("stderr's first line %q does not mention %q", lines[0], m)
				}
			}
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestE2EVersion(t *testing.T) {
	r := runReader(t, "--version")
	if r.code != 0 || len(bytes.TrimSpace(r.stdout)) == 0 {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestE2EFlood runs a random-qname DNS flood (generated into a temporary
// directory, never committed) through the reader: every frame is counted,
// the client cardinality stays within the HLL bound, and top-N lists stay
// bounded.
func TestE2EFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	st, err := capgen.Flood(w, capgen.FloodOptions{Queries: 40000, Answered: 30, Seed: 42, Sources: 3000})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	s := packetsSection(t, runReader(t, "--periods", "1", "-H", "192.0.2.10/32,2001:db8::10/128", path), "1m")
	checkShape(t, s)
	var r []string
	want := map[string]uint64{
		"total": uint64(st.Frames), "udp": uint64(st.Frames), "tcp": 0, "other_l4": 0,
		"in": uint64(st.Frames - st.Responses), "out": uint64(st.Responses), "unknown_dir": 0,
	}
	for k, v := range want {
		if got, ok := s.Uint(k); !ok || got != v {
			r = append(r, fmt.Sprintf("%s = %d, want %d", k, got, v))
		}
	}
	clients := uint64(st.Clients4 + st.Clients6)
	if got, _ := s.Uint("cardinality.src_ips_in"); float64(got) < 0.98*float64(clients) || float64(got) > 1.02*float64(clients) {
		r = append(r, fmt.Sprintf("cardinality.src_ips_in = %d, want %d ± 2%%", got, clients))
	}
	for _, p := range []string{"top_ipv4", "top_ipv6"} {
		if rows, _ := s.Rows(p); len(rows) != 10 {
			r = append(r, fmt.Sprintf("%s has %d rows, want 10", p, len(rows)))
		}
	}
	report(t, r)
}
