package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/config"
	"github.com/visorng/visor/agent/window"
)

// repoRoot walks up from the package dir to the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func samplePcap(t *testing.T) string {
	p := filepath.Join(repoRoot(t), "test", "testdata", "sample.pcap")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample capture missing: %v", err)
	}
	return p
}

func fileConfig(path string) string {
	return `
version: "1.0"
visor:
  taps:
    file:
      input_type: pcap
      config:
        pcap_file: ` + path + `
      tags:
        kind: file
  policies:
    default:
      kind: collection
      input:
        tap: file
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
          pcap_stats:
            type: pcap
`
}

func TestFilePolicy(t *testing.T) {
	a := New(Options{})
	defer a.Close()
	res, err := a.ApplyYAML([]byte(fileConfig(samplePcap(t))))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Policies) != 1 || res.Policies[0] != "default" {
		t.Fatalf("policies %v", res.Policies)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitInputs(ctx); err != nil {
		t.Fatal(err)
	}
	pols := a.Policies()
	if len(pols) != 2 || !strings.HasSuffix(pols[1].Name(), "-resources") || !strings.HasPrefix(pols[1].Name(), "file-") {
		t.Fatalf("policies: %v, %v", pols[0].Name(), pols[len(pols)-1].Name())
	}
	p, _ := a.Policy("default")
	obj, err := PolicyJSON(p, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	net := obj["default-file-net"].(map[string]any)["packets"].(map[string]any)
	if net["total"].(uint64) == 0 {
		t.Fatalf("no packets: %v", net)
	}
	if _, err := PolicyJSON(p, 9, false); !errors.Is(err, window.ErrPeriod) {
		t.Fatalf("period 9: %v", err)
	}
}

func TestTransactionalLoad(t *testing.T) {
	a := New(Options{})
	defer a.Close()
	bad := fileConfig(samplePcap(t)) + `
          broken:
            type: nosuch
`
	_, err := a.ApplyYAML([]byte(bad))
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "requires stream handler type 'nosuch'") || ce.Pos.Line == 0 {
		t.Fatalf("err = %v", err)
	}
	if len(a.Taps()) != 0 || len(a.Policies()) != 0 || len(a.inputs) != 0 {
		t.Fatalf("leftovers: %d taps %d policies %d inputs", len(a.Taps()), len(a.Policies()), len(a.inputs))
	}
}

func mockConfig(policy string) string {
	return `
visor:
  policies:
    ` + policy + `:
      kind: collection
      input:
        tap: mock
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
`
}

func TestMockSharedInput(t *testing.T) {
	before := runtime.NumGoroutine()
	a := New(Options{})
	if _, err := a.ApplyYAML([]byte("visor:\n  taps:\n    mock:\n      input_type: pcap\n      config:\n        pcap_source: mock\n")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"p1", "p2"} {
		if _, err := a.ApplyYAML([]byte(mockConfig(name))); err != nil {
			t.Fatal(err)
		}
	}
	p1, _ := a.Policy("p1")
	p2, _ := a.Policy("p2")
	if p1.InputName() != p2.InputName() || len(a.inputs) != 1 {
		t.Fatalf("inputs not shared: %s %s", p1.InputName(), p2.InputName())
	}
	time.Sleep(350 * time.Millisecond)
	obj, err := PolicyJSON(p1, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := obj["p1-mock-net"].(map[string]any)["packets"].(map[string]any)["total"].(uint64); n == 0 {
		t.Fatal("mock produced no packets")
	}
	if err := a.RemovePolicy("p1"); err != nil {
		t.Fatal(err)
	}
	if len(a.inputs) != 1 {
		t.Fatal("input stopped while still used")
	}
	if err := a.RemovePolicy("p2"); err != nil {
		t.Fatal(err)
	}
	if len(a.inputs) != 0 || len(a.Policies()) != 0 {
		t.Fatalf("input or resources policy left: %d %d", len(a.inputs), len(a.Policies()))
	}
	a.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("goroutines %d > %d", g, before)
	}
}

func TestMockInputType(t *testing.T) {
	a := New(Options{})
	defer a.Close()
	_, err := a.ApplyYAML([]byte(`
visor:
  taps:
    m:
      input_type: mock
      config: {anything: goes}
  policies:
    p:
      kind: collection
      input: {tap: m, input_type: mock}
      handlers:
        modules:
          net: {type: net}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := a.Policy("p")
	info := a.PolicyInfo(p)["input"].(map[string]any)[p.InputName()].(map[string]any)
	if _, ok := info["mock"]; !ok {
		t.Fatalf("input info %v", info)
	}
}
