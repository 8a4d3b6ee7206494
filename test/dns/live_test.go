// Package dns holds the live DNS tests: Debian's unbound answering a local
// zone inside a network namespace, dig sending a known mix from a second
// namespace over a veth pair, the traffic captured with tcpdump and read
// through our pipeline, and unbound's dnstap log read by our dnstap input.
package dns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/dnshandler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/agent/input/dnstap"
)

const (
	serverIP = "10.99.53.1"
	clientIP = "10.99.53.2"
)

func need(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live DNS test needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "unbound", "dig", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live DNS test needs %s", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// netns creates the server and client namespaces joined by a veth pair and
// removes them in Cleanup (deleting a namespace deletes its veth end).
func netns(t *testing.T) (srv, cli string) {
	t.Helper()
	id := os.Getpid() % 100000
	srv, cli = fmt.Sprintf("vdns-s%d", id), fmt.Sprintf("vdns-c%d", id)
	// Namespaces left by a killed run whose pid is reused.
	for _, ns := range []string{srv, cli} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
	run(t, "ip", "netns", "add", srv)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", srv).Run() })
	run(t, "ip", "netns", "add", cli)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", cli).Run() })
	vs, vc := fmt.Sprintf("vds%d", id), fmt.Sprintf("vdc%d", id)
	run(t, "ip", "link", "add", vs, "netns", srv, "type", "veth", "peer", "name", vc, "netns", cli)
	for _, c := range [][]string{
		{srv, "ip", "addr", "add", serverIP + "/24", "dev", vs}, {srv, "ip", "link", "set", vs, "up"},
		{srv, "ip", "link", "set", "lo", "up"},
		{cli, "ip", "addr", "add", clientIP + "/24", "dev", vc}, {cli, "ip", "link", "set", vc, "up"},
	} {
		run(t, "ip", append([]string{"netns", "exec"}, c...)...)
	}
	return srv, cli
}

const unboundConf = `server:
  interface: %[1]s
  port: 53
  do-ip6: no
  access-control: 10.99.53.0/24 allow
  username: ""
  chroot: ""
  directory: "%[2]s"
  pidfile: "%[2]s/unbound.pid"
  use-syslog: no
  logfile: ""
  do-daemonize: no
  num-threads: 1
  module-config: "iterator"
  local-zone: "test.example." static
  local-data: "a.test.example. 60 IN A 10.99.53.10"
  local-data: "a.test.example. 60 IN AAAA 2001:db8::10"
  local-data: "a.test.example. 60 IN TXT \"hello\""
  local-data: "mx.test.example. 60 IN MX 10 a.test.example."
remote-control:
  control-enable: no
dnstap:
  dnstap-enable: yes
  dnstap-bidirectional: yes
  dnstap-socket-path: "%[3]s"
  dnstap-send-identity: no
  dnstap-send-version: no
  dnstap-log-client-query-messages: yes
  dnstap-log-client-response-messages: yes
`

// query is one line of dig's batch file and what it must produce.
type query struct {
	name, qtype string
	tcp         bool
	rcode       string // NOERROR or NXDOMAIN
	nodata      bool
}

func mix() []query {
	var qs []query
	for i := 0; i < 4; i++ {
		tcp := i%2 == 1
		qs = append(qs,
			query{"a.test.example", "A", tcp, "NOERROR", false},
			query{"a.test.example", "AAAA", tcp, "NOERROR", false},
			query{"a.test.example", "TXT", tcp, "NOERROR", false},
			query{"mx.test.example", "MX", tcp, "NOERROR", false},
			query{"a.test.example", "SRV", tcp, "NOERROR", true},
			query{fmt.Sprintf("missing%d.test.example", i), "A", tcp, "NXDOMAIN", false},
			query{fmt.Sprintf("gone%d.test.example", i), "AAAA", tcp, "NXDOMAIN", false},
		)
	}
	return qs
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counters(t *testing.T, h handler.Handler) map[string]uint64 {
	t.Helper()
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for k, v := range obj["wire_packets"].(map[string]any) {
		out[k] = v.(uint64)
	}
	if x, ok := obj["xact"].(map[string]any); ok {
		out["xact_total"] = x["counts"].(map[string]any)["total"].(uint64)
		out["xact_in"] = x["in"].(map[string]any)["total"].(uint64)
	}
	return out
}

func stop(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func TestUnboundLive(t *testing.T) {
	need(t)
	srv, cli := netns(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "dnstap.sock")
	pcap := filepath.Join(dir, "dns.pcap")

	// Our dnstap input, listening before unbound connects.
	tapIn, err := dnstap.New(dnstap.Options{Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	tapDNS, err := dnshandler.NewV1("live-dnstap", handler.Config{"num_periods": uint64(1)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	tapIn.Attach(tapDNS)
	ctx, cancel := context.WithCancel(context.Background())
	tapDone := make(chan error, 1)
	go func() { tapDone <- tapIn.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-tapDone })
	waitFor(t, "dnstap socket", 5*time.Second, func() bool { _, err := os.Stat(sock); return err == nil })

	// Capture on the server's veth.
	var tdErr bytes.Buffer
	td := exec.Command("ip", "netns", "exec", srv, "tcpdump", "-i", "any", "-U", "-s", "0", "-w", pcap, "port", "53")
	td.Stderr = &tdErr
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(td, syscall.SIGINT) })
	waitFor(t, "tcpdump", 5*time.Second, func() bool { return strings.Contains(tdErr.String(), "listening on") })

	conf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(unboundConf, serverIP, dir, sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	var ubOut bytes.Buffer
	ub := exec.Command("ip", "netns", "exec", srv, "unbound", "-d", "-c", conf)
	ub.Stdout, ub.Stderr = &ubOut, &ubOut
	if err := ub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(ub, syscall.SIGTERM) })
	waitFor(t, "unbound to listen", 10*time.Second, func() bool {
		out, _ := exec.Command("ip", "netns", "exec", srv, "ss", "-lnu").Output()
		return strings.Contains(string(out), serverIP+":53")
	})
	waitFor(t, "unbound's dnstap session", 10*time.Second, func() bool { return tapIn.Counters.Sessions.Load() > 0 })

	qs := mix()
	var udpBatch, tcpBatch strings.Builder
	want := map[string]uint64{}
	for _, q := range qs {
		b := &udpBatch
		if q.tcp {
			b = &tcpBatch
			want["tcp"] += 2
		} else {
			want["udp"] += 2
		}
		fmt.Fprintf(b, "@%s %s %s\n", serverIP, q.name, q.qtype)
		want["queries"]++
		want["replies"]++
		switch q.rcode {
		case "NOERROR":
			want["noerror"]++
			if q.nodata {
				want["nodata"]++
			}
		case "NXDOMAIN":
			want["nxdomain"]++
		}
	}
	answers := 0
	for i, b := range []*strings.Builder{&udpBatch, &tcpBatch} {
		bf := filepath.Join(dir, fmt.Sprintf("batch%d", i))
		os.WriteFile(bf, []byte(b.String()), 0o644)
		args := []string{"netns", "exec", cli, "dig", "+tries=1", "+time=3"}
		if i == 1 {
			args = append(args, "+tcp") // dig applies +tcp from the command line to the whole batch
		}
		out := run(t, "ip", append(args, "-f", bf)...)
		answers += strings.Count(out, "status: ")
	}
	if answers != len(qs) {
		t.Fatalf("dig got %d answers for %d queries", answers, len(qs))
	}
	want["total"] = want["queries"] + want["replies"]
	want["ipv4"] = want["total"]

	// dnstap: every client query and every response unbound logged.
	waitFor(t, "dnstap messages", 10*time.Second, func() bool {
		return tapIn.Counters.Messages.Load() >= uint64(2*len(qs))
	})
	got := counters(t, tapDNS)
	for _, k := range []string{"queries", "replies", "noerror", "nxdomain", "nodata", "udp", "tcp", "total"} {
		w := want[k]
		if got[k] != w {
			t.Errorf("dnstap: %s = %d, want %d", k, got[k], w)
		}
	}

	// pcap: stop the capture and read it through the reader's path.
	stop(td, syscall.SIGINT)
	hosts, _ := input.ParseHostSpec(serverIP + "/32")
	src, err := pcapfile.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in, _ := input.NewPacketInput(src, input.PacketOptions{Hosts: hosts, Recorded: true})
	h, _ := dnshandler.NewV1("live-pcap", handler.Config{"num_periods": uint64(1), "recorded_stream": true}, handler.Env{})
	in.Attach(h)
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = counters(t, h)
	want["xact_total"] = uint64(len(qs))
	want["xact_in"] = uint64(len(qs)) // the host is the server
	for k, w := range want {
		if got[k] != w {
			t.Errorf("pcap: %s = %d, want %d", k, got[k], w)
		}
	}
	t.Logf("sent %d queries (%d over TCP); pcap %v", len(qs), want["tcp"]/2, got)
}
