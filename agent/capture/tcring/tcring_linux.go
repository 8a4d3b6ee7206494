//go:build linux

package tcring

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/internal/ifprobe"
	"github.com/visorng/visor/agent/capture/internal/kcount"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
)

// Source is a capture.Source over the TC programs' ring buffer. Next, Stats
// and Close must not run concurrently.
type Source struct {
	opts   Options
	objs   *bpf.TCObjects
	links  []link.Link
	legacy *legacyHooks
	rd     *ringbuf.Reader
	rec    ringbuf.Record
	probe  *ifprobe.Probe
	// monoToWall is added to a CLOCK_MONOTONIC timestamp to get Unix ns;
	// refreshed when idle so clock steps are followed.
	monoToWall int64
	// waiting says the reader's deadline is in the future (set for a wait).
	waiting bool
	mode    string // "tcx" or "legacy", for reporting
	gone    bool
	stats   capture.Stats
}

var _ capture.Source = (*Source)(nil)

// Open loads the TC programs, attaches them to the interface's ingress and
// egress and starts reading the ring. It works in the calling thread's
// network namespace.
func Open(opts Options) (*Source, error) {
	opts = opts.withDefaults()
	if opts.Iface == "" {
		return nil, errors.New("tc: no interface given")
	}
	s := &Source{opts: opts, stats: capture.Stats{Path: "tc"}}
	if err := s.open(); err != nil {
		s.Close()
		return nil, fmt.Errorf("tc %s: %w", opts.Iface, err)
	}
	return s, nil
}

func (s *Source) open() error {
	var err error
	if s.probe, err = ifprobe.New(s.opts.Iface); err != nil {
		return err
	}
	if s.objs, err = bpf.LoadTC(s.opts.BPF); err != nil {
		return fmt.Errorf("load programs: %w", err)
	}
	// The reader exists before the hooks so no record waits unread.
	if s.rd, err = ringbuf.NewReader(s.objs.Ring()); err != nil {
		return fmt.Errorf("ring reader: %w", err)
	}
	s.rd.SetDeadline(pastDeadline())
	s.refreshClock()
	idx := s.probe.Index()
	if s.opts.Attach != AttachLegacy {
		err = s.attachTCX(idx)
		if err == nil {
			s.mode = "tcx"
			return nil
		}
		if s.opts.Attach == AttachTCX || !errors.Is(err, ebpf.ErrNotSupported) {
			return err
		}
	}
	if s.legacy, err = attachLegacy(idx, s.objs.Ingress(), s.objs.Egress()); err != nil {
		return err
	}
	s.mode = "legacy"
	return nil
}

func (s *Source) attachTCX(idx int) error {
	for _, h := range []struct {
		prog *ebpf.Program
		at   ebpf.AttachType
		name string
	}{
		{s.objs.Ingress(), ebpf.AttachTCXIngress, "ingress"},
		{s.objs.Egress(), ebpf.AttachTCXEgress, "egress"},
	} {
		l, err := link.AttachTCX(link.TCXOptions{Interface: idx, Program: h.prog, Attach: h.at})
		if err != nil {
			return fmt.Errorf("attach tcx %s: %w", h.name, err)
		}
		s.links = append(s.links, l)
	}
	return nil
}

// AttachMode reports how the programs were attached: "tcx" or "legacy".
func (s *Source) AttachMode() string { return s.mode }

func (s *Source) refreshClock() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return
	}
	s.monoToWall = time.Now().UnixNano() - ts.Nano()
}

// LinkType is Ethernet: the programs run on Ethernet-like devices.
func (s *Source) LinkType() decode.LinkType { return decode.LinkEthernet }

// Next fills f with the next record's frame. Dir is the hook side (ingress
// ⇒ in, egress ⇒ out). It returns capture.ErrTimeout after PollTimeout
// without a record, and a wrapped capture.ErrInterfaceGone (then always)
// once the interface is deleted — its hooks went with it.
func (s *Source) Next(f *capture.Frame) error {
	if s.rd == nil {
		return fmt.Errorf("tc %s: %w", s.opts.Iface, os.ErrClosed)
	}
	if s.gone {
		return s.goneErr()
	}
	if err := s.read(); err != nil {
		return err
	}
	r, err := parseRecord(s.rec.RawSample)
	if err != nil {
		return fmt.Errorf("tc %s: %w", s.opts.Iface, err)
	}
	f.Data = s.rec.RawSample[r.start : r.start+r.capLen : r.start+r.capLen]
	f.CapLen = r.capLen
	f.OrigLen = r.wireLen
	f.Timestamp = time.Unix(0, int64(r.monoNs)+s.monoToWall)
	f.LinkType = decode.LinkEthernet
	f.Dir = r.dir
	s.stats.Received++
	s.stats.Bytes += uint64(r.wireLen)
	return nil
}

// read takes the next record into s.rec. Records below the wakeup
// threshold come without a wakeup, so a waiting read wakes every
// FlushInterval to look; records already in the ring are read without a
// syscall or a clock read, in the batch a wakeup found.
//
// The reader waits in epoll, which reports the ring only after a wakeup:
// while records submitted without one are pending, its deadline must be
// in the past so that it reads them instead of sleeping.
func (s *Source) read() error {
	var start time.Time
	for {
		if s.rd.AvailableBytes() == 0 {
			now := time.Now()
			if start.IsZero() {
				start = now
			}
			left := s.opts.PollTimeout - now.Sub(start)
			if left <= 0 {
				s.refreshClock()
				if s.probe.State() == ifprobe.Gone {
					s.gone = true
					return s.goneErr()
				}
				return capture.ErrTimeout
			}
			s.rd.SetDeadline(now.Add(min(left, s.opts.FlushInterval)))
			s.waiting = true
		} else if s.waiting {
			s.rd.SetDeadline(pastDeadline())
			s.waiting = false
		}
		err := s.rd.ReadInto(&s.rec)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("tc %s: read ring: %w", s.opts.Iface, err)
		}
	}
}

// pastDeadline makes the reader look at the ring without sleeping (the
// zero time would mean no deadline at all).
func pastDeadline() time.Time { return time.Unix(1, 0) }

func (s *Source) goneErr() error {
	return fmt.Errorf("tc %s: %w", s.opts.Iface, capture.ErrInterfaceGone)
}

// SetSampleRate changes the share of flows copied to user space while
// capturing; counting is unaffected.
func (s *Source) SetSampleRate(percent int) error { return s.objs.SetSampleRate(percent) }

// Stats reports frames delivered and the kernel's exact counters; OSDrops
// are records the kernel could not reserve in a full ring.
func (s *Source) Stats() capture.Stats {
	st := s.stats
	if s.objs == nil {
		return st
	}
	if t, err := s.objs.Counters(); err == nil {
		st.Kernel = kcount.FromTotals(t)
		st.OSDrops = st.Kernel.RingFailures
		st.Filtered = st.Kernel.Filtered
	}
	return st
}

// Close detaches the programs and releases everything.
func (s *Source) Close() error {
	var errs []error
	for _, l := range s.links {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.links = nil
	if s.legacy != nil {
		if err := s.legacy.remove(); err != nil {
			errs = append(errs, err)
		}
		s.legacy = nil
	}
	if s.rd != nil {
		if err := s.rd.Close(); err != nil {
			errs = append(errs, err)
		}
		s.rd = nil
	}
	if s.objs != nil {
		if err := s.objs.Close(); err != nil {
			errs = append(errs, err)
		}
		s.objs = nil
	}
	if s.probe != nil {
		s.probe.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tc %s: close: %w", s.opts.Iface, err)
	}
	return nil
}

// legacyHooks are cls_bpf filters on a clsact qdisc, for kernels before
// tcx. The netlink handle keeps the namespace they were made in.
type legacyHooks struct {
	nl           *netlink.Handle
	filters      []*netlink.BpfFilter
	qdisc        *netlink.GenericQdisc
	createdQdisc bool
}

func attachLegacy(idx int, ingress, egress *ebpf.Program) (*legacyHooks, error) {
	nl, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	h := &legacyHooks{nl: nl, qdisc: &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: idx, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
		QdiscType:  "clsact",
	}}
	switch err := nl.QdiscAdd(h.qdisc); {
	case err == nil:
		h.createdQdisc = true
	case errors.Is(err, unix.EEXIST):
	default:
		nl.Close()
		return nil, fmt.Errorf("add clsact qdisc: %w", err)
	}
	for _, p := range []struct {
		prog   *ebpf.Program
		parent uint32
		name   string
	}{
		{ingress, netlink.HANDLE_MIN_INGRESS, "visor_tc_ingress"},
		{egress, netlink.HANDLE_MIN_EGRESS, "visor_tc_egress"},
	} {
		f := &netlink.BpfFilter{
			FilterAttrs: netlink.FilterAttrs{
				LinkIndex: idx, Parent: p.parent, Handle: netlink.MakeHandle(0, 1),
				Protocol: unix.ETH_P_ALL, Priority: 1,
			},
			Fd: p.prog.FD(), Name: p.name, DirectAction: true,
		}
		if err := nl.FilterAdd(f); err != nil {
			rerr := h.remove()
			return nil, errors.Join(fmt.Errorf("add cls_bpf filter %s: %w", p.name, err), rerr)
		}
		h.filters = append(h.filters, f)
	}
	return h, nil
}

// remove deletes what attachLegacy added: the whole qdisc if it made it,
// else only its own filters. An interface already gone took them along.
func (h *legacyHooks) remove() error {
	defer h.nl.Close()
	var errs []error
	if h.createdQdisc {
		if err := h.nl.QdiscDel(h.qdisc); err != nil && !errors.Is(err, unix.ENODEV) && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("delete clsact qdisc: %w", err))
		}
		return errors.Join(errs...)
	}
	for _, f := range h.filters {
		if err := h.nl.FilterDel(f); err != nil && !errors.Is(err, unix.ENODEV) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete filter %s: %w", f.Name, err))
		}
	}
	return errors.Join(errs...)
}
