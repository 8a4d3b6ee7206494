//go:build linux

package capturetest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/visorng/visor/agent/capture/afxdp"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/bpf"
)

// childEnv makes the test binary act as a capturing agent that the parent
// kills: "<netns>/<iface>".
const childEnv = "VISOR_CAPTURE_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// runChild attaches XDP (with its AF_XDP sockets) and tcx programs the way
// the agent does, says so on stdout and waits to be killed.
func runChild(spec string) int {
	nsName, ifname, ok := strings.Cut(spec, "/")
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q: want <netns>/<iface>\n", childEnv, spec)
		return 2
	}
	runtime.LockOSThread()
	h, err := netns.GetFromName(nsName)
	if err == nil {
		err = netns.Set(h)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "enter netns:", err)
		return 2
	}
	x, err := afxdp.Open(afxdp.Options{Iface: ifname})
	if err != nil {
		fmt.Fprintln(os.Stderr, "afxdp:", err)
		return 2
	}
	tc, err := tcring.Open(tcring.Options{Iface: ifname, BPF: bpf.Options{}, Attach: tcring.AttachTCX})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcring:", err)
		return 2
	}
	fmt.Println("attached", x.AttachMode(), tc.AttachMode())
	time.Sleep(time.Minute) // bounded: the parent kills us long before
	return 3
}
