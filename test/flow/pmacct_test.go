package flow_test

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visorng/visor/agent/input/flowinput"
)

// TestPmacctdSFlow replays a capture through pmacctd's sfprobe plugin
// (sFlow v5, sampling 1/1, raw packet headers) to our listener. Every packet
// is one flow sample; its frame length is the Ethernet frame plus the 4-byte
// FCS sFlow counts; the device is the configured agent address.
func TestPmacctdSFlow(t *testing.T) {
	requireTools(t, "pmacctd", "tcpdump", "tshark")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "traffic.pcap")
	want := writeCapture(t, pcap, 20)
	ns := newNetns(t)
	in, tot, addr := listen(t, ns, flowinput.TypeSFlow)
	conf := filepath.Join(dir, "pmacctd.conf")
	agent := "10.9.9.9"
	cfg := "daemonize: false\npcap_savefile: " + pcap + "\nplugins: sfprobe\nsfprobe_receiver: " + addr.String() +
		"\nsampling_rate: 1\nsfprobe_agentip: " + agent + "\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The export stream, captured for tshark's account of what was sent.
	export := filepath.Join(dir, "export.pcap")
	stopCapture := captureExport(ctx, t, ns, addr.Port(), export)
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "pmacctd", "-f", conf).CombinedOutput()
	if err != nil {
		// pmacctd 1.7.7 sometimes exits 1 when its plugin finishes before
		// the core ("connection lost to ... sfprobe"); what it exported is
		// still checked below against the capture of the export stream.
		if ctx.Err() != nil || !strings.Contains(string(out), "Shutting down") {
			t.Fatalf("pmacctd: %v\n%s", err, out)
		}
		t.Logf("pmacctd: %v (shutdown race)", err)
	}
	// Wait for our input to go quiet, then stop the capture.
	time.Sleep(500 * time.Millisecond)
	stopCapture()
	samples, frameBytes := tsharkSFlow(t, export)
	if samples == 0 || samples > want.packets {
		t.Fatalf("export stream holds %d samples for %d packets", samples, want.packets)
	}
	if samples != want.packets {
		// pmacctd occasionally misses a packet of the file; the export
		// stream is the truth for the decoder.
		t.Logf("pmacctd exported %d samples of %d packets", samples, want.packets)
	}
	r, p, b := tot.get()
	if r != samples || p != samples || b != frameBytes {
		t.Fatalf("decoded samples %d packets %d bytes %d; tshark on the export stream: %d samples, %d bytes; input %+v\n%s",
			r, p, b, samples, frameBytes, in.Stats(), out)
	}
	tot.mu.Lock()
	defer tot.mu.Unlock()
	if len(tot.devices) != 1 || !tot.devices[netip.MustParseAddr(agent)] {
		t.Fatalf("devices %v, want only the agent %s", tot.devices, agent)
	}
	if st := in.Stats(); st.DecodeErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// captureExport runs tcpdump on the namespace's loopback for UDP to port;
// the returned func stops it and waits for the file.
func captureExport(ctx context.Context, t *testing.T, ns string, port uint16, path string) func() {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "tcpdump", "-i", "lo", "-U", "-w", path,
		"udp", "dst", "port", strconv.Itoa(int(port)))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "listening on") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	var once bool
	stop := func() {
		if once {
			return
		}
		once = true
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}
	t.Cleanup(stop)
	return stop
}

// tsharkSFlow counts flow samples and sums their frame lengths with
// Wireshark's sFlow dissector.
func tsharkSFlow(t *testing.T, path string) (samples, bytes uint64) {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", path, "-d", "udp.port==0-65535,sflow", "-T", "fields",
		"-e", "sflow_245.header.frame_length").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	for _, f := range strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == '\n' }) {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			continue
		}
		samples++
		bytes += n
	}
	return samples, bytes
}
