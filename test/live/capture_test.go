//go:build linux

package live

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input"
)

// capture starts tcpdump -w in ns on dev; the returned stop flushes and
// ends it and returns the file.
func capture(t *testing.T, ns, dev, filter string) (stop func() string) {
	t.Helper()
	requireTool(t, "tcpdump")
	path := filepath.Join(t.TempDir(), "live.pcap")
	cmd := inNS(ns, "tcpdump", "--immediate-mode", "-i", dev, "-U", "-s", "0", "-w", path, filter)
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	// Wait until tcpdump listens.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errb.String(), "listening on") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return func() string {
		time.Sleep(200 * time.Millisecond)
		// ip netns exec execs tcpdump in place, so the pid is tcpdump's.
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		done = true
		return path
	}
}

// replay feeds a capture through the reader's pipeline into h and returns
// h's section as generic JSON.
func replay(t *testing.T, path string, h handler.Handler) map[string]any {
	t.Helper()
	src, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in, err := input.NewPacketInput(src, input.PacketOptions{Recorded: true})
	if err != nil {
		t.Fatal(err)
	}
	in.Attach(h)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obj)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func macOf(t *testing.T, ns, dev string) string {
	out := sh(t, "ip", "-n", ns, "-o", "link", "show", dev)
	i := strings.Index(out, "link/ether ")
	if i < 0 {
		t.Fatalf("no MAC in %q", out)
	}
	return strings.Fields(out[i+len("link/ether "):])[0]
}
