//go:build linux

package capturetest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	harness "github.com/visorng/visor/agent/capture/capturetest"
	"github.com/visorng/visor/test/capture/vethnet"
)

// attached lists what is hooked to the end: its XDP program id and the
// number of tcx programs on ingress and egress.
func attached(t *testing.T, e *vethnet.End) (xdp uint32, tcx int) {
	t.Helper()
	xdp, err := e.XDPProgID()
	if err != nil {
		t.Fatal(err)
	}
	if tcx, err = harness.TCXPrograms(e); err != nil {
		t.Fatal(err)
	}
	return xdp, tcx
}

// TestSIGKILLLeavesNothingAttached kills a process that captures with XDP +
// AF_XDP and TC (tcx) and expects the interface bare: the programs hang on
// BPF links owned by the process, not on netlink attachments that would
// survive it.
func TestSIGKILLLeavesNothingAttached(t *testing.T) {
	v := newPair(t, vethConfig())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+v.Capture.NS.Name+"/"+v.Capture.Name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if !strings.HasPrefix(s, "attached") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %q, stderr: %s", s, stderr.String())
		}
		t.Logf("child %s", strings.TrimSpace(s))
	case <-time.After(20 * time.Second):
		t.Fatalf("child did not attach within 20s: %s", stderr.String())
	}
	if xdp, tcx := attached(t, &v.Capture); xdp == 0 || tcx != 2 {
		t.Fatalf("while the child runs: xdp prog %d, %d tcx programs; want both attached", xdp, tcx)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// Links are released when the kernel closes the dead process's files;
	// allow it a moment.
	deadline := time.Now().Add(3 * time.Second)
	for {
		xdp, tcx := attached(t, &v.Capture)
		if xdp == 0 && tcx == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGKILL: xdp prog %d, %d tcx programs still attached", xdp, tcx)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And the way an operator would look.
	if b, err := v.Capture.NS.Command("ip", "link", "show", "dev", v.Capture.Name).CombinedOutput(); err != nil || strings.Contains(string(b), "xdp") {
		t.Errorf("ip link show: %v\n%s", err, b)
	}
	if b, err := v.Capture.NS.Command("bpftool", "net", "show", "dev", v.Capture.Name).CombinedOutput(); err == nil && strings.Contains(string(b), "tcx/") {
		t.Errorf("bpftool net show lists tcx programs:\n%s", b)
	}
}
