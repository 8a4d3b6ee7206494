//go:build linux

// Package live runs the agent's handlers against real peers (DHCP, BGP
// speakers, probe targets) in network namespaces the tests create and
// remove. Every test skips, saying why, when not root or a tool is missing.
package live

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

var nsSeq atomic.Uint64

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and veth pairs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip (test/install-deps.sh)")
	}
}

func requireTool(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (test/install-deps.sh installs it)", tool)
		}
	}
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// netns creates a named namespace with loopback up, deleted at cleanup
// (which also destroys the veth ends inside it and kills nothing else).
func netns(t *testing.T, tag string) string {
	t.Helper()
	name := fmt.Sprintf("vl%d-%s%d", os.Getpid()%100000, tag, nsSeq.Add(1))
	_ = exec.Command("ip", "netns", "del", name).Run() // left by a killed run whose pid is reused
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// veth joins a and b with a veth pair named ifA (in a) and ifB (in b).
func veth(t *testing.T, a, ifA, b, ifB string) {
	t.Helper()
	tmpA, tmpB := fmt.Sprintf("vla%d", nsSeq.Add(1)), fmt.Sprintf("vlb%d", nsSeq.Add(1))
	sh(t, "ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", tmpA).Run() })
	sh(t, "ip", "link", "set", tmpA, "netns", a, "name", ifA)
	sh(t, "ip", "link", "set", tmpB, "netns", b, "name", ifB)
	sh(t, "ip", "-n", a, "link", "set", ifA, "up")
	sh(t, "ip", "-n", b, "link", "set", ifB, "up")
}

// inNS runs a command inside ns.
func inNS(ns string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// start runs a long-lived command in ns, killed (by its own pid) at cleanup.
func start(t *testing.T, ns string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := inNS(ns, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", args[0], out.String())
		}
	})
	return cmd
}
