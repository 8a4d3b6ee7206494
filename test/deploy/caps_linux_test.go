//go:build linux

package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/test/capture/vethnet"
)

// unprivileged is how the systemd unit runs the agent, reproduced with
// setpriv: user nobody, no groups, exactly the four capabilities as
// ambient, inheritable and bounding sets, and no_new_privs.
func unprivileged(bin string, args ...string) []string {
	caps := "-all,+bpf,+net_admin,+net_raw,+perfmon"
	return append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=" + caps, "--ambient-caps=" + caps, "--bounding-set=" + caps, "--no-new-privs", "--", bin}, args...)
}

// capMask is the bitmask of CAP_NET_ADMIN(12), CAP_NET_RAW(13),
// CAP_PERFMON(38) and CAP_BPF(39) as /proc/<pid>/status prints it.
const capMask = "000000c000003000"

type captureResult struct {
	path     string
	received float64
	err      string
}

// captureOnce runs the agent in the capture namespace with pcap_source
// source, sends packets from the peer, and reads back what the capture
// saw through the API (queried from inside the namespace).
func captureOnce(t *testing.T, pair *vethnet.Pair, source string, asNobody bool) (captureResult, string) {
	t.Helper()
	// Readable by nobody: t.TempDir's parents are private to root.
	dir, err := os.MkdirTemp("", "visor-caps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "pktvisord.yaml", fmt.Sprintf(`
visor:
  taps:
    veth:
      input_type: pcap
      config:
        iface: %s
        pcap_source: %s
  policies:
    default:
      kind: collection
      input:
        tap: veth
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
`, pair.Capture.Name, source))
	argv := []string{pktvisord(t), "--config", cfg, "-l", "127.0.0.1", "-p", "0"}
	if asNobody {
		argv = unprivileged(argv[0], argv[1:]...)
	}
	cmd := pair.Capture.NS.Command(argv[0], argv[1:]...)
	base, err := startAgent(t, cmd)
	if err != nil {
		return captureResult{err: err.Error()}, ""
	}
	status := procStatus(t, cmd.Process.Pid)

	// Let the source attach, then send a bounded burst over the veth.
	time.Sleep(300 * time.Millisecond)
	const n = 50
	err = pair.Peer.NS.Do(func() error {
		// Unconnected, so the port-unreachable answers do not fail the
		// next write.
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2)})
		if err != nil {
			return err
		}
		defer c.Close()
		dst := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 53}
		for i := 0; i < n; i++ {
			if _, err := c.WriteTo([]byte("visor-ng capability test"), dst); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var res captureResult
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := pair.Capture.NS.Command("curl", "-sf", base+"/api/v1/metrics/app").Output()
		if err != nil {
			t.Fatalf("query agent in namespace: %v", err)
		}
		var app struct {
			Inputs map[string]struct {
				Capture struct {
					Path     string  `json:"path"`
					Received float64 `json:"received"`
				} `json:"capture"`
				Input struct {
					Error string `json:"error"`
				} `json:"input"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal(out, &app); err != nil {
			t.Fatalf("app JSON: %v\n%s", err, out)
		}
		for _, in := range app.Inputs {
			res = captureResult{path: in.Capture.Path, received: in.Capture.Received, err: in.Input.Error}
		}
		if res.err != "" || res.received >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return res, status
}

// procStatus returns the Uid and capability lines of a process.
func procStatus(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, k := range []string{"Name:", "Uid:", "CapEff:", "CapAmb:", "CapBnd:", "NoNewPrivs:"} {
			if strings.HasPrefix(l, k) {
				keep = append(keep, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	return strings.Join(keep, "\n")
}

// The agent runs as nobody with only the unit's capabilities, in a network
// namespace, and captures on each live path. A path that fails even as
// root is unavailable here (kernel or build) and skips with the reason; a
// path that works as root but not unprivileged fails: the capability set
// is short.
func TestCaptureWithUnitCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and drops to nobody with setpriv")
	}
	for _, tool := range []string{"setpriv", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	pktvisord(t)
	for i, source := range []string{"af_packet", "xdp", "tc", "libpcap"} {
		t.Run(source, func(t *testing.T) {
			// XDP takes the frames it samples away from the host stack, so
			// the agent uses it only on a dedicated capture port: one
			// without addresses. Frames still arrive through the peer's
			// static neighbour entry.
			var capAddrs []netip.Prefix
			if source != "xdp" {
				capAddrs = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}
			}
			pair, err := vethnet.NewPair(vethnet.Config{
				Prefix:       fmt.Sprintf("vdcap%d-%d", os.Getpid()%10000, i),
				CaptureAddrs: capAddrs,
				PeerAddrs:    []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = pair.Close() })
			if err := pair.Peer.StaticNeighbor(netip.MustParseAddr("192.0.2.1"), pair.Capture.MAC); err != nil {
				t.Fatal(err)
			}
			res, status := captureOnce(t, pair, source, true)
			for _, want := range []string{"Name: pktvisord", "Uid: 65534 65534 65534 65534", "CapEff: " + capMask,
				"CapAmb: " + capMask, "CapBnd: " + capMask, "NoNewPrivs: 1"} {
				if status != "" && !strings.Contains(status, want) {
					t.Errorf("agent process lacks %q:\n%s", want, status)
				}
			}
			if res.err == "" && res.path == source && res.received >= 50 {
				t.Logf("%s as nobody: received %.0f frames", source, res.received)
				return
			}
			rootRes, _ := captureOnce(t, pair, source, false)
			if rootRes.err != "" || rootRes.path != source || rootRes.received < 50 {
				t.Skipf("%s capture is unavailable here even as root (path %q, %v frames, error %q)", source, rootRes.path, rootRes.received, rootRes.err)
			}
			t.Fatalf("%s works as root but not with the unit's capabilities: path %q, %v frames, error %q", source, res.path, res.received, res.err)
		})
	}
}
