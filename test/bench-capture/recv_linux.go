//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/afpacket"
	"github.com/visorng/visor/agent/capture/afxdp"
	"github.com/visorng/visor/agent/capture/libpcap"
	"github.com/visorng/visor/agent/capture/tcring"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/input"
	"github.com/visorng/visor/bpf"
)

// receiver is one capture path opened in the benchmark's child process.
// Kernel-only paths have no source; deep paths feed the source through the
// agent's own pipeline (PacketInput → decode → net handler).
type receiver struct {
	mode    string
	src     capture.Source
	counted func() (uint64, bool) // frames the path saw, exact or as the kernel reports
	drops   func() uint64
	prog    func() (*ebpf.Program, error)
	closers []func() error
}

func (r *receiver) close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i]())
	}
	return errors.Join(errs...)
}

func openReceiver(path, ifname, dropObj string) (*receiver, error) {
	switch path {
	case pathXDPDrop:
		return openXDPDrop(ifname, dropObj)
	case pathXDPCount:
		return openXDPCount(ifname)
	case pathAFXDP:
		s, err := afxdp.Open(afxdp.Options{Iface: ifname, BPF: bpf.Options{SampleRate: 100}})
		if err != nil {
			return nil, err
		}
		return &receiver{
			mode: fmt.Sprintf("%s, zero-copy %v, %d queue(s)", s.AttachMode(), s.ZeroCopy(), s.Queues()), src: s,
			counted: kernelPackets(s), drops: func() uint64 { return s.Stats().OSDrops },
			prog:    func() (*ebpf.Program, error) { return attachedXDP(ifname) },
			closers: []func() error{s.Close},
		}, nil
	case pathTC:
		s, err := tcring.Open(tcring.Options{Iface: ifname, BPF: bpf.Options{SampleRate: 100}})
		if err != nil {
			return nil, err
		}
		return &receiver{
			mode: s.AttachMode(), src: s,
			counted: kernelPackets(s), drops: func() uint64 { return s.Stats().OSDrops },
			prog:    func() (*ebpf.Program, error) { return attachedTCX(ifname) },
			closers: []func() error{s.Close},
		}, nil
	case pathAFPacket:
		s, err := afpacket.Open(afpacket.Options{Iface: ifname})
		if err != nil {
			return nil, err
		}
		return &receiver{
			mode: "TPACKET_V3", src: s,
			counted: func() (uint64, bool) { return s.RingStats().Packets, true },
			drops:   func() uint64 { return s.RingStats().Drops },
			closers: []func() error{s.Close},
		}, nil
	case pathLibpcap:
		s, err := libpcap.Open(libpcap.Options{Iface: ifname})
		if err != nil {
			return nil, err
		}
		return &receiver{
			mode: "libpcap", src: s,
			counted: func() (uint64, bool) { st := s.Stats(); return st.Received + st.OSDrops, true },
			drops:   func() uint64 { return s.Stats().OSDrops },
			closers: []func() error{s.Close},
		}, nil
	}
	return nil, fmt.Errorf("unknown path %q", path)
}

func kernelPackets(s capture.Source) func() (uint64, bool) {
	return func() (uint64, bool) {
		k := s.Stats().Kernel
		if k == nil {
			return 0, false
		}
		return k.Packets, true
	}
}

// openXDPDrop attaches the counter-only ceiling program. It is loaded from
// the committed object file rather than through package bpf, which keeps
// its loader unexported: the ceiling is a benchmark tool, not agent API.
func openXDPDrop(ifname, obj string) (*receiver, error) {
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		return nil, fmt.Errorf("xdpdrop object: %w", err)
	}
	var objs struct {
		Prog *ebpf.Program `ebpf:"xdp_drop_count"`
		Map  *ebpf.Map     `ebpf:"drop_counters"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		return nil, fmt.Errorf("load xdpdrop: %w", err)
	}
	r := &receiver{closers: []func() error{objs.Prog.Close, objs.Map.Close}}
	l, mode, err := attachXDP(ifname, objs.Prog)
	if err != nil {
		r.close()
		return nil, err
	}
	r.mode = mode
	r.closers = append(r.closers, l.Close)
	r.counted = func() (uint64, bool) {
		var perCPU []struct{ Packets, Bytes uint64 }
		if err := objs.Map.Lookup(uint32(0), &perCPU); err != nil {
			return 0, false
		}
		var n uint64
		for _, c := range perCPU {
			n += c.Packets
		}
		return n, true
	}
	r.drops = func() uint64 { return 0 }
	r.prog = func() (*ebpf.Program, error) { return objs.Prog, nil }
	return r, nil
}

// openXDPCount attaches the agent's XDP program with sampling at 0: every
// frame is parsed and counted exactly, none is redirected.
func openXDPCount(ifname string) (*receiver, error) {
	objs, err := bpf.LoadXDP(bpf.Options{})
	if err != nil {
		return nil, err
	}
	r := &receiver{closers: []func() error{objs.Close}}
	if err := objs.SetSampleRate(0); err != nil {
		r.close()
		return nil, err
	}
	l, mode, err := attachXDP(ifname, objs.Program())
	if err != nil {
		r.close()
		return nil, err
	}
	r.mode = mode
	r.closers = append(r.closers, l.Close)
	r.counted = func() (uint64, bool) {
		t, err := objs.Counters()
		if err != nil {
			return 0, false
		}
		return t.AllSeen().Packets, true
	}
	r.drops = func() uint64 { return 0 }
	r.prog = func() (*ebpf.Program, error) { return objs.Program(), nil }
	return r, nil
}

// attachXDP tries driver (native) mode first, as the agent does.
func attachXDP(ifname string, p *ebpf.Program) (link.Link, string, error) {
	nl, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, "", fmt.Errorf("find %s: %w", ifname, err)
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: p, Interface: nl.Attrs().Index, Flags: link.XDPDriverMode})
	if err == nil {
		return l, "native", nil
	}
	l, err2 := link.AttachXDP(link.XDPOptions{Program: p, Interface: nl.Attrs().Index, Flags: link.XDPGenericMode})
	if err2 != nil {
		return nil, "", fmt.Errorf("attach xdp to %s: native: %v; generic: %w", ifname, err, err2)
	}
	return l, "generic", nil
}

func attachedXDP(ifname string) (*ebpf.Program, error) {
	nl, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, err
	}
	if x := nl.Attrs().Xdp; x != nil && x.Attached {
		return ebpf.NewProgramFromID(ebpf.ProgramID(x.ProgId))
	}
	return nil, fmt.Errorf("no xdp program on %s", ifname)
}

// attachedTCX finds the ingress program: on a veth receiver every
// benchmark frame arrives there.
func attachedTCX(ifname string) (*ebpf.Program, error) {
	nl, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, err
	}
	q, err := link.QueryPrograms(link.QueryOptions{Target: nl.Attrs().Index, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return nil, fmt.Errorf("query tcx ingress of %s: %w", ifname, err)
	}
	if len(q.Programs) == 0 {
		return nil, fmt.Errorf("no tcx ingress program on %s (legacy tc attach?)", ifname)
	}
	return ebpf.NewProgramFromID(q.Programs[len(q.Programs)-1].ID)
}

// untilDone turns a live source's idle timeouts into retries and ends the
// stream (io.EOF) once ctx is cancelled.
type untilDone struct {
	capture.Source
	ctx context.Context
}

func (u untilDone) Next(f *capture.Frame) error {
	for {
		if u.ctx.Err() != nil {
			return io.EOF
		}
		err := u.Source.Next(f)
		if errors.Is(err, capture.ErrTimeout) || errors.Is(err, capture.ErrInterfaceDown) {
			continue
		}
		return err
	}
}

// recvResult is what the child reports on stdout when stopped.
type recvResult struct {
	Path        string  `json:"path"`
	Mode        string  `json:"mode"`
	Counted     uint64  `json:"counted"`
	CountedOK   bool    `json:"counted_ok"`
	Deep        uint64  `json:"deep"`
	Decoded     uint64  `json:"decoded"`
	Drops       uint64  `json:"drops"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	ProgRuns    uint64  `json:"prog_runs"`
	ProgRunTime float64 `json:"prog_run_ns"`
	ProgErr     string  `json:"prog_err,omitempty"`
}

func cpuSelf() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// runReceiver is the child: open, say "ready", take a baseline at "start"
// on stdin, stop at end of stdin and print one JSON result.
func runReceiver(path, ifname, dropObj string, stdin io.Reader, stdout io.Writer) error {
	r, err := openReceiver(path, ifname, dropObj)
	if err != nil {
		return fmt.Errorf("open %s on %s: %w", path, ifname, err)
	}
	defer r.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var in *input.PacketInput
	runErr := make(chan error, 1)
	if r.src != nil {
		h, err := nethandler.NewV1("bench", handler.Config{}, handler.Env{})
		if err != nil {
			return err
		}
		if in, err = input.NewPacketInput(untilDone{r.src, ctx}, input.PacketOptions{}); err != nil {
			return err
		}
		in.Attach(h)
		go func() { runErr <- in.Run(ctx) }()
	} else {
		close(runErr)
	}
	fmt.Fprintln(stdout, "ready")
	lines := bufio.NewScanner(stdin)
	if !lines.Scan() || lines.Text() != "start" {
		return errors.New("parent went away before start")
	}
	var prog *ebpf.Program
	var before ebpf.ProgramStats
	res := recvResult{Path: path, Mode: r.mode}
	if r.prog != nil {
		if prog, err = r.prog(); err == nil {
			var st *ebpf.ProgramStats
			if st, err = prog.Stats(); err == nil {
				before = *st
			}
		}
		if err != nil {
			res.ProgErr = err.Error()
		}
	}
	c0, _ := r.counted()
	var d0 uint64
	if in != nil {
		d0 = in.Counters.Frames.Load()
	}
	cpu0 := cpuSelf()
	for lines.Scan() {
	}
	res.CPUSeconds = cpuSelf() - cpu0
	c1, ok := r.counted()
	res.Counted, res.CountedOK = c1-c0, ok
	res.Drops = r.drops()
	if prog != nil {
		if st, err := prog.Stats(); err == nil {
			res.ProgRuns = st.RunCount - before.RunCount
			res.ProgRunTime = float64(st.Runtime - before.Runtime)
		}
	}
	cancel()
	select {
	case err := <-runErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("pipeline: %w", err)
		}
	case <-time.After(5 * time.Second):
		return errors.New("pipeline did not stop within 5s of cancel")
	}
	if in != nil {
		res.Deep = in.Counters.Frames.Load() - d0
		res.Decoded = in.Counters.Delivered.Load()
	}
	return json.NewEncoder(stdout).Encode(res)
}
