package resourceshandler

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
)

func TestParse(t *testing.T) {
	stat := []byte("4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 12 0 123 4096 100 18446744073709551615\n")
	if n, err := parseProcStat(stat); err != nil || n != 200 {
		t.Fatalf("proc stat: %d %v", n, err)
	}
	if _, err := parseProcStat([]byte("1 (x) S 1 2")); err == nil {
		t.Fatal("short stat accepted")
	}
	sys := []byte("cpu  10 20 30 40 50 0 0 0 0 0\ncpu0 1 2 3 4 5 0 0 0 0 0\nintr 1\n")
	if n, err := parseSysStat(sys); err != nil || n != 150 {
		t.Fatalf("sys stat: %d %v", n, err)
	}
	status := []byte("Name:\tvisor\nVmRSS:\t   12345 kB\nThreads:\t9\n")
	if n, err := parseRSS(status); err != nil || n != 12345*1024 {
		t.Fatalf("rss: %d %v", n, err)
	}
	if _, err := parseRSS([]byte("Name: x\n")); err == nil {
		t.Fatal("missing VmRSS accepted")
	}
}

func TestReadProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	u, err := readProc()
	if err != nil || u.TotalJiffies == 0 || u.RSSBytes == 0 {
		t.Fatalf("%+v %v", u, err)
	}
}

func section(t *testing.T, h *Handler, p int, window bool) map[string]any {
	t.Helper()
	obj, err := handler.SectionJSON(h, p, window)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obj)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestSampling(t *testing.T) {
	reads := 0
	fake := func() (Usage, error) {
		reads++
		return Usage{ProcJiffies: uint64(10 * reads), TotalJiffies: uint64(100 * reads), RSSBytes: 1 << 20}, nil
	}
	h, err := NewWithReader("r", handler.Config{"num_periods": uint64(1), "recorded_stream": true}, fake)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	for i := 0; i < 100; i++ { // 100 events over 20 s: samples at 0, 5, 10, 15 s
		h.Observe(t0.Add(time.Duration(i) * 200 * time.Millisecond))
	}
	if reads != 4 {
		t.Fatalf("%d reads, want 4", reads)
	}
	h.SetCounts(2, 3)
	s := section(t, h, 0, false)
	if s["total"] != float64(100) || s["policy_count"] != float64(2) || s["handler_count"] != float64(3) {
		t.Fatalf("section %v", s)
	}
	cpu := s["cpu_usage"].(map[string]any)
	if p50, _ := cpu["p50"].(float64); p50 < 9.8 || p50 > 10.2 { // 10 of 100 jiffies
		t.Fatalf("cpu %v", cpu)
	}
	if mem := s["memory_bytes"].(map[string]any); mem["p50"] == nil {
		t.Fatalf("memory %v", mem)
	}
}

func TestCountsSurviveShiftAndMerge(t *testing.T) {
	now := time.Now() // the first bucket starts at the wall clock
	h, _ := NewWithReader("r", handler.Config{"num_periods": uint64(3)}, func() (Usage, error) { return Usage{}, nil })
	h.SetCounts(1, 1)
	h.Observe(now.Add(61 * time.Second)) // rotates; the live bucket inherits the counts
	h.SetCounts(2, 2)
	if s := section(t, h, 1, false); s["policy_count"] != float64(1) {
		t.Fatalf("closed bucket %v", s["policy_count"])
	}
	if s := section(t, h, 2, true); s["policy_count"] != float64(2) || s["handler_count"] != float64(2) {
		t.Fatalf("window takes the newest counts: %v", s)
	}
	h.SetCounts(-1, 0)
	if s := section(t, h, 0, false); s["policy_count"] != float64(0) {
		t.Fatal("counts are floored at 0")
	}
}

func TestObserveAllocs(t *testing.T) {
	h, _ := NewWithReader("r", handler.Config{"num_periods": uint64(1)}, func() (Usage, error) { return Usage{}, nil })
	ts := time.Unix(1700000000, 0)
	h.Observe(ts)
	if n := testing.AllocsPerRun(200, func() { h.Observe(ts) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	h, _ := NewWithReader("r", handler.Config{"num_periods": uint64(1)}, readProc)
	ts := time.Unix(1700000000, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Observe(ts.Add(time.Duration(i) * time.Millisecond))
		i++
	}
}
