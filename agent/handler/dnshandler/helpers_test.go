package dnshandler_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/dnshandler"
	"github.com/visorng/visor/agent/input"
)

// fixtures returns ../shared/fixtures beside the repository root, skipping
// the test when it is absent.
func fixtures(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
	f := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(f); err != nil {
		t.Skipf("fixtures not available at %s (../shared/fixtures beside the repository)", f)
	}
	return f
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fixtures(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not present", p)
	}
	return p
}

// runPcap feeds a capture through the reader's path into fresh v1 and v2
// handlers built from cfg.
func runPcap(t testing.TB, path, hostSpec string, cfg handler.Config) (v1, v2 handler.Handler) {
	t.Helper()
	hosts, err := input.ParseHostSpec(hostSpec)
	if err != nil {
		t.Fatal(err)
	}
	src, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in, err := input.NewPacketInput(src, input.PacketOptions{Hosts: hosts, Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	c := handler.Config{"recorded_stream": true, "num_periods": uint64(1)}.Merge(cfg)
	if v1, err = dnshandler.NewV1("test-dns", c, handler.Env{}); err != nil {
		t.Fatal(err)
	}
	if v2, err = dnshandler.NewV2("test-dns2", c, handler.Env{}); err != nil {
		t.Fatal(err)
	}
	in.Attach(v1)
	in.Attach(v2)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return v1, v2
}

// section renders bucket 0 and round-trips it through JSON so tests see
// the document a client would.
func section(t testing.TB, h handler.Handler) map[string]any {
	t.Helper()
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
