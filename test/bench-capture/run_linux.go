//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/test/capture/vethnet"
)

type config struct {
	duration, drain time.Duration
	cpus            []int
	paths           []string
	prefix          string
	dropObj         string
	jsonOut         string
	queues          int
	self            string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-capture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	recv := fs.String("recv", "", "internal: run as the receiver of `path` (in the capture namespace)")
	iface := fs.String("iface", "cap0", "internal: receiver interface")
	dropObj := fs.String("xdpdrop-obj", "", "XDP_DROP ceiling object (default: bpf/xdpdrop_bpfel.o of this repository)")
	dur := fs.Duration("duration", 3*time.Second, "sending time per case")
	drain := fs.Duration("drain", time.Second, "wait after sending before reading the receiver's counters")
	cpus := fs.String("cpus", "1,2", "comma-separated trafgen sender CPU counts")
	paths := fs.String("paths", strings.Join(allPaths, ","), "comma-separated paths: "+strings.Join(allPaths, ","))
	prefix := fs.String("prefix", "vbench", "network namespace name prefix")
	jsonOut := fs.String("json", "", "also write the rows as JSON to this file")
	queues := fs.Int("queues", 2, "veth RX/TX queues (one per sender CPU keeps senders from sharing a ring)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *recv != "" {
		return runReceiver(*recv, *iface, *dropObj, stdin, stdout)
	}
	cfg := config{duration: *dur, drain: *drain, prefix: *prefix, dropObj: *dropObj, jsonOut: *jsonOut, queues: *queues}
	for _, s := range strings.Split(*cpus, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-cpus: %q is not a CPU count", s)
		}
		cfg.cpus = append(cfg.cpus, n)
	}
	for _, p := range strings.Split(*paths, ",") {
		p = strings.TrimSpace(p)
		if _, ok := pathTitles[p]; !ok {
			return fmt.Errorf("-paths: unknown path %q", p)
		}
		cfg.paths = append(cfg.paths, p)
	}
	if err := vethnet.ValidPrefix(cfg.prefix); err != nil {
		return err
	}
	if cfg.duration <= 0 || cfg.duration > time.Minute {
		return fmt.Errorf("-duration %v: want 0 < d <= 1m", cfg.duration)
	}
	rows, err := orchestrate(ctx, cfg, stderr)
	writeTable(stdout, rows)
	writeVerdicts(stdout, rows)
	if cfg.jsonOut != "" && len(rows) > 0 {
		b, _ := json.MarshalIndent(rows, "", " ")
		if werr := os.WriteFile(cfg.jsonOut, append(b, '\n'), 0o644); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}

func orchestrate(ctx context.Context, cfg config, log io.Writer) ([]row, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: creates network namespaces and attaches BPF programs")
	}
	for _, tool := range []string{"trafgen", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (apt-get install netsniff-ng iproute2): %w", tool, err)
		}
	}
	var err error
	if cfg.self, err = os.Executable(); err != nil {
		return nil, err
	}
	if cfg.dropObj == "" {
		root, err := repoRoot()
		if err != nil {
			return nil, err
		}
		cfg.dropObj = filepath.Join(root, "bpf", "xdpdrop_bpfel.o")
	}
	// Run-time statistics are global while this handle stays open; the
	// receivers read their programs' counters as deltas.
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("enable bpf run-time stats: %w", err)
	}
	defer stats.Close()

	pair, err := vethnet.NewPair(vethnet.Config{Prefix: cfg.prefix, RxQueues: cfg.queues, PeerAddrs: []netip.Prefix{netip.MustParsePrefix("10.232.0.2/24")}})
	if err != nil {
		return nil, err
	}
	defer pair.Close()
	tmp, err := os.MkdirTemp("", "bench-capture-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tgConf := filepath.Join(tmp, "udp64.cfg")
	spec := frameSpec{
		SrcMAC: pair.Peer.MAC, DstMAC: pair.Capture.MAC,
		// No address on the capture side: the frames end in the stack's
		// routing lookup (or in XDP), never in a reply that would add
		// traffic the table does not count.
		Src: netip.MustParseAddr("10.232.0.2"), Dst: netip.MustParseAddr("10.232.0.99"),
		SrcPort: 40000, DstPort: 9,
	}
	if err := os.WriteFile(tgConf, []byte(trafgenConfig(spec)), 0o644); err != nil {
		return nil, err
	}
	var rows []row
	for _, n := range cfg.cpus {
		for _, p := range cfg.paths {
			if ctx.Err() != nil {
				return rows, ctx.Err()
			}
			fmt.Fprintf(log, "bench-capture: %s, %d sender CPU(s)...\n", p, n)
			r := runCase(ctx, cfg, pair, tgConf, p, n)
			if r.Err != "" {
				fmt.Fprintf(log, "bench-capture: %s: %s\n", p, r.Err)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// receiverProc is a running receiver: our own child or tcpdump.
type receiverProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *strings.Builder
	cpu0   float64
}

func startReceiver(cfg config, pair *vethnet.Pair, path string) (*receiverProc, error) {
	rp := &receiverProc{stderr: &strings.Builder{}}
	if path == pathTcpdump {
		rp.cmd = pair.Capture.NS.Command("tcpdump", "-i", pair.Capture.Name, "-w", "/dev/null", "-n")
	} else {
		rp.cmd = pair.Capture.NS.Command(cfg.self, "-recv", path, "-iface", pair.Capture.Name, "-xdpdrop-obj", cfg.dropObj)
	}
	var err error
	if rp.stdin, err = rp.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := rp.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	rp.stdout = bufio.NewReader(out)
	errPipe, err := rp.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := rp.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	errLines := bufio.NewReader(errPipe)
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		for {
			line, err := errLines.ReadString('\n')
			rp.stderr.WriteString(line)
			if path == pathTcpdump && strings.Contains(line, "listening on") {
				ready <- nil
			}
			if err != nil {
				return
			}
		}
	}()
	if path != pathTcpdump {
		go func() {
			line, err := rp.stdout.ReadString('\n')
			if errors.Is(err, io.EOF) {
				err = errors.New("receiver exited")
			}
			if err == nil && strings.TrimSpace(line) != "ready" {
				err = fmt.Errorf("receiver said %q", line)
			}
			ready <- err
		}()
	}
	select {
	case err = <-ready:
	case <-time.After(20 * time.Second):
		err = errors.New("receiver not ready within 20s")
	}
	if err != nil {
		rp.cmd.Process.Kill()
		rp.cmd.Wait()
		<-stderrDone
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(rp.stderr.String()))
	}
	return rp, nil
}

func runCase(ctx context.Context, cfg config, pair *vethnet.Pair, tgConf, path string, cpus int) row {
	r := row{Path: path, CPUs: cpus}
	fail := func(err error) row { r.Err = err.Error(); return r }
	rp, err := startReceiver(cfg, pair, path)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if rp.cmd.ProcessState == nil {
			rp.cmd.Process.Kill()
			rp.cmd.Wait()
		}
	}()
	if path == pathTcpdump {
		rp.cpu0, _ = procCPU(rp.cmd.Process.Pid)
	} else if _, err := io.WriteString(rp.stdin, "start\n"); err != nil {
		return fail(err)
	}
	tx0, err := pair.Peer.Stats()
	if err != nil {
		return fail(err)
	}
	tg := pair.Peer.NS.Command("trafgen", "-o", pair.Peer.Name, "-i", tgConf, "-P", strconv.Itoa(cpus), "--no-sock-mem", "-Q")
	var tgOut strings.Builder
	tg.Stdout, tg.Stderr = &tgOut, &tgOut
	// trafgen forks one sender per CPU; its own group is signalled so the
	// senders stop with it.
	tg.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := tg.Start(); err != nil {
		return fail(fmt.Errorf("trafgen: %w", err))
	}
	select {
	case <-time.After(cfg.duration):
	case <-ctx.Done():
	}
	syscall.Kill(-tg.Process.Pid, syscall.SIGINT)
	r.Seconds = time.Since(start).Seconds()
	killer := time.AfterFunc(5*time.Second, func() { syscall.Kill(-tg.Process.Pid, syscall.SIGKILL) })
	werr := tg.Wait()
	killer.Stop()
	if r.Sent, err = parseTrafgen(tgOut.String()); err != nil {
		return fail(fmt.Errorf("trafgen (%v): %w", werr, err))
	}
	r.SenderCPU = (tg.ProcessState.UserTime() + tg.ProcessState.SystemTime()).Seconds()
	tx1, err := pair.Peer.Stats()
	if err != nil {
		return fail(err)
	}
	r.Tx, r.TxDropped = tx1.TxPackets-tx0.TxPackets, tx1.TxDropped-tx0.TxDropped
	time.Sleep(cfg.drain)

	if path == pathTcpdump {
		cpu1, _ := procCPU(rp.cmd.Process.Pid)
		r.AgentCPU = cpu1 - rp.cpu0
		rp.cmd.Process.Signal(syscall.SIGINT)
		rp.cmd.Wait()
		st, err := parseTcpdump(rp.stderr.String())
		if err != nil {
			return fail(err)
		}
		r.Mode = "libpcap via tcpdump"
		r.Counted, r.CountedOK, r.Deep, r.Drops = st.Received, true, st.Captured, st.Dropped
		return r
	}
	rp.stdin.Close()
	line, err := rp.stdout.ReadString('\n')
	werr = rp.cmd.Wait()
	if err != nil {
		return fail(fmt.Errorf("receiver result: %v (exit %v): %s", err, werr, rp.stderr.String()))
	}
	var res recvResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return fail(fmt.Errorf("receiver result %q: %w", line, err))
	}
	r.Mode, r.Counted, r.CountedOK, r.Deep, r.Drops = res.Mode, res.Counted, res.CountedOK, res.Deep, res.Drops
	r.AgentCPU, r.ProgRuns, r.ProgNs = res.CPUSeconds, res.ProgRuns, res.ProgRunTime
	return r
}

// procCPU reads a process's user+system time from /proc/<pid>/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(string(b), 100)
}

// repoRoot walks up from the working directory to the directory holding
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; pass -xdpdrop-obj")
		}
		dir = parent
	}
}
