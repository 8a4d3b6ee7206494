package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

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

func goBuild(t *testing.T, dir, pkg string) string {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", dir, pkg)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return filepath.Join(dir, filepath.Base(pkg))
}

var listenRE = regexp.MustCompile(`msg="web server listening" addr=(\S+)`)

// TestTmuxAgainstAgent runs the built pktvisor-cli in a real terminal
// (tmux) against a running pktvisord fed by its live mock tap and by the
// sample capture, and reads the screen back with capture-pane.
// VISOR_PKTVISORD may name a prebuilt agent.
func TestTmuxAgainstAgent(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux not installed (apt-get install tmux)")
	}
	if testing.Short() {
		t.Skip("builds and runs the agent")
	}
	bin := t.TempDir()
	agentBin := os.Getenv("VISOR_PKTVISORD")
	if agentBin == "" {
		agentBin = goBuild(t, bin, "./cmd/pktvisord")
	}
	cli := goBuild(t, bin, "./cmd/pktvisor-cli")
	sample := filepath.Join(repoRoot(t), "test", "testdata", "sample.pcap")
	cfg := filepath.Join(bin, "pktvisord.yaml")
	if err := os.WriteFile(cfg, []byte(`
visor:
  taps:
    mock:
      input_type: pcap
      config:
        pcap_source: mock
    file:
      input_type: pcap
      config:
        pcap_file: `+sample+`
        host_spec: 192.0.2.10/32,2001:db8::10/128
  policies:
    default:
      kind: collection
      input:
        tap: mock
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
          dns:
            type: dns
    sample:
      kind: collection
      input:
        tap: file
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
          dns:
            type: dns
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(bin, "agent.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(agentBin, "--config", cfg, "-l", "127.0.0.1", "-p", "0")
	agent.Stdout, agent.Stderr = logf, logf
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	var addr string
	for deadline := time.Now().Add(15 * time.Second); addr == ""; {
		b, _ := os.ReadFile(logPath)
		if m := listenRE.FindSubmatch(b); m != nil {
			addr = string(m[1])
		} else if time.Now().After(deadline) {
			t.Fatalf("agent did not start:\n%s", b)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	host, port, _ := strings.Cut(addr, ":")

	session := fmt.Sprintf("pvcli%d", os.Getpid())
	start := exec.Command(tmux, "-L", session, "new-session", "-d", "-s", session, "-x", "220", "-y", "60",
		cli, "-H", host, "-p", port)
	start.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(tmux, "-L", session, "kill-server").Run() })
	pane := func() string {
		out, _ := exec.Command(tmux, "-L", session, "capture-pane", "-p", "-t", session).Output()
		return string(out)
	}
	wait := func(want ...string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := pane()
			ok := true
			for _, w := range want {
				if !strings.Contains(s, w) {
					ok = false
				}
			}
			if ok {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("screen never showed %q:\n%s", want, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	keys := func(k ...string) {
		if out, err := exec.Command(tmux, append([]string{"-L", session, "send-keys", "-t", session}, k...)...).CombinedOutput(); err != nil {
			t.Fatalf("send-keys: %v\n%s", err, out)
		}
	}
	// The live mock tap: server version, live rates and their sparkline,
	// the capture panel naming the mock path.
	wait("server: "+"4.", "Policy: default", "Pkt Rates Total", "live", "DNS Wire Pkts", "[mock] recv", "pps total")
	// Switch to the sample policy from inside the UI.
	keys("p")
	wait("Policy (Enter selects", "sample")
	// The list is sorted and holds the resources policies too; "sample" is
	// last.
	keys("End", "Enter")
	s := wait("Policy: sample", "Pkts 1078", "DNS Wire Pkts 629", ".example.net", "[pcap_file] recv 1078")
	if strings.Contains(s, "HTTP") {
		t.Errorf("an error reached the screen:\n%s", s)
	}
	// Stop the agent: the screen says so in one line, then q quits.
	_ = agent.Process.Kill()
	wait("Agent unreachable: nothing listens at http://" + addr)
	keys("q")
	for deadline := time.Now().Add(5 * time.Second); ; {
		if exec.Command(tmux, "-L", session, "has-session", "-t", session).Run() != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit:\n%s", pane())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
