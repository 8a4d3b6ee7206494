//go:build linux

package live

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/dhcphandler"
)

// TestDHCPLease has dnsmasq lease an address to udhcpc across a veth pair;
// the capture of the exchange, run through the dhcp handler, must show one
// DISCOVER/OFFER/REQUEST/ACK, the client with its host name and lease, and
// the server.
func TestDHCPLease(t *testing.T) {
	requireRoot(t)
	requireTool(t, "dnsmasq", "udhcpc")
	srv, cli := netns(t, "ds"), netns(t, "dc")
	veth(t, srv, "eth0", cli, "eth0")
	sh(t, "ip", "-n", srv, "addr", "add", "10.78.0.1/24", "dev", "eth0")
	dir := t.TempDir()
	leases := filepath.Join(dir, "leases")
	logPath := filepath.Join(dir, "dnsmasq.log")
	stop := capture(t, srv, "eth0", "udp port 67 or udp port 68")
	start(t, srv, nil, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--interface=eth0", "--bind-interfaces", "--dhcp-range=10.78.0.50,10.78.0.60,1h",
		"--dhcp-leasefile="+leases, "--pid-file="+filepath.Join(dir, "pid"), "--user=root", "--no-ping", "--log-dhcp", "--log-facility="+logPath)
	time.Sleep(300 * time.Millisecond) // let dnsmasq bind before the client's first DISCOVER
	out, err := inNS(cli, "udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", "eth0",
		"-x", "hostname:visorclient", "-s", "/bin/true").CombinedOutput()
	if err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, out)
	}
	pcap := stop()
	lease, err := os.ReadFile(leases)
	if err != nil || len(strings.Fields(string(lease))) < 3 {
		t.Fatalf("lease file %q: %v", lease, err)
	}
	leasedIP := strings.Fields(string(lease))[2]
	clientMAC, serverMAC := macOf(t, cli, "eth0"), macOf(t, srv, "eth0")

	h, err := dhcphandler.New("live-dhcp", handler.Config{"num_periods": uint64(1), "recorded_stream": true}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	s := replay(t, pcap, h)
	t.Cleanup(func() {
		if t.Failed() {
			dump, _ := inNS(srv, "tcpdump", "-nr", pcap).CombinedOutput()
			t.Logf("capture:\n%s", dump)
		}
	})
	// The server's own account of the exchange (udhcpc may retry a
	// DISCOVER, and each retry may get its OFFER).
	logb, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(logb)
	want := map[string]float64{
		"discover": float64(strings.Count(log, "DHCPDISCOVER(")),
		"offer":    float64(strings.Count(log, "DHCPOFFER(")),
		"request":  float64(strings.Count(log, "DHCPREQUEST(")),
		"ack":      float64(strings.Count(log, "DHCPACK(")),
	}
	want["total"] = want["discover"] + want["offer"] + want["request"] + want["ack"]
	want["events"] = want["total"]
	if want["ack"] != 1 || want["discover"] < 1 {
		t.Fatalf("unexpected exchange per dnsmasq: %v\n%s", want, log)
	}
	wp := s["wire_packets"].(map[string]any)
	for k, w := range want {
		if wp[k] != w {
			t.Errorf("wire_packets.%s = %v, dnsmasq says %v", k, wp[k], w)
		}
	}
	t.Logf("exchange per dnsmasq and per handler: %v", want)
	wantClient := clientMAC + "/visorclient/" + leasedIP
	if c := s["top_clients"].([]any); len(c) != 1 || c[0].(map[string]any)["name"] != wantClient {
		t.Errorf("top_clients %v, want %s", c, wantClient)
	}
	wantServer := serverMAC + "/10.78.0.1"
	if c := s["top_servers"].([]any); len(c) != 1 || c[0].(map[string]any)["name"] != wantServer ||
		c[0].(map[string]any)["estimate"] != want["offer"] {
		t.Errorf("top_servers %v, want %s", c, wantServer)
	}
}
