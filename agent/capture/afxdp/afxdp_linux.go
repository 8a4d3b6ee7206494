//go:build linux

package afxdp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/internal/ifprobe"
	"github.com/visorng/visor/agent/capture/internal/kcount"
	"github.com/visorng/visor/bpf"
	"github.com/visorng/visor/decode"
)

// Source is a capture.Source over AF_XDP sockets, one per RX queue. Next,
// Stats and Close must not run concurrently.
type Source struct {
	opts    Options
	objs    *bpf.XDPObjects
	xdpLink link.Link
	socks   []*xsk
	pfds    []unix.PollFd
	probe   *ifprobe.Probe
	cur     int // queue to read first
	pending int // queue whose frame the caller holds, or -1
	mode    string
	gone    bool
	// busy says the last poll ended within BatchDelay; waitRecv is
	// stats.Received when the last wait ended, so a wait can tell whether
	// the previous one found frames.
	busy     bool
	waitRecv uint64
	stats    capture.Stats
	// autoFrames: NumFrames was left to the default and may shrink to fit
	// RLIMIT_MEMLOCK.
	autoFrames bool
}

var _ capture.Source = (*Source)(nil)

// xsk is one AF_XDP socket with its own UMEM.
type xsk struct {
	fd        int
	umem      []byte
	rxMem     []byte
	fillMem   []byte
	rx, fill  ring
	fillSize  uint32
	frameMask uint64
	held      uint32    // descriptors of the frame handed out (more than one for a multi-buffer frame)
	sg        bool      // bound with XDP_USE_SG: frames may span descriptors
	unpub     uint32    // frames released but not yet published to the kernel
	stamp     time.Time // when the current batch was seen
	zeroCopy  bool
}

// minAutoFrames is the smallest UMEM (4 MiB of 2 KiB frames) a default-sized
// socket shrinks to before giving up.
const minAutoFrames = 2048

// Open loads the XDP program, binds an AF_XDP socket to every RX queue of
// the interface and attaches the program. It works in the calling thread's
// network namespace.
func Open(opts Options) (*Source, error) {
	autoFrames := opts.NumFrames == 0
	opts = opts.withDefaults()
	switch {
	case opts.Iface == "":
		return nil, errors.New("af_xdp: no interface given")
	case !isPow2(opts.FrameSize) || opts.FrameSize < 2048 || opts.FrameSize > 65536:
		return nil, fmt.Errorf("af_xdp: frame size %d is not a power of two in 2048..65536", opts.FrameSize)
	case !isPow2(opts.NumFrames):
		return nil, fmt.Errorf("af_xdp: frame count %d is not a power of two", opts.NumFrames)
	}
	s := &Source{opts: opts, pending: -1, stats: capture.Stats{Path: "af_xdp"}, autoFrames: autoFrames}
	if err := s.open(); err != nil {
		s.Close()
		return nil, fmt.Errorf("af_xdp %s: %w", opts.Iface, err)
	}
	return s, nil
}

func (s *Source) open() error {
	nl, err := netlink.LinkByName(s.opts.Iface)
	if err != nil {
		return fmt.Errorf("find interface: %w", err)
	}
	if !s.opts.AllowHostAddrs {
		if err := checkNoHostAddrs(s.opts.Iface); err != nil {
			return err
		}
	}
	if s.probe, err = ifprobe.New(s.opts.Iface); err != nil {
		return err
	}
	queues := rxQueues(s.opts.Iface, nl.Attrs().NumRxQueues)
	bopts := s.opts.BPF
	bopts.Queues = uint32(max(queues, int(bopts.Queues)))
	// A frame larger than one UMEM chunk (less the headroom the kernel
	// keeps in front of it) arrives in several buffers: the program must be
	// multi-buffer aware (native XDP refuses such an MTU otherwise) and the
	// sockets must accept descriptor chains.
	sg := needsFrags(nl.Attrs().MTU, s.opts.FrameSize)
	bopts.Frags = bopts.Frags || sg
	if s.objs, err = bpf.LoadXDP(bopts); err != nil {
		return fmt.Errorf("load program: %w", err)
	}
	for q := range queues {
		x, err := newXSK(s.probe.Index(), q, s.opts, sg)
		// UMEM is pinned memory charged to RLIMIT_MEMLOCK unless the
		// process has CAP_IPC_LOCK; a service with only the capture
		// capabilities and the default 8 MiB limit cannot pin the default
		// 32 MiB. Shrink a default-sized UMEM until it fits rather than
		// fail (an explicit NumFrames is the user's to keep).
		for err != nil && s.autoFrames && errors.Is(err, unix.ENOBUFS) && s.opts.NumFrames > minAutoFrames {
			s.opts.NumFrames /= 2
			x, err = newXSK(s.probe.Index(), q, s.opts, sg)
		}
		if err != nil {
			return fmt.Errorf("queue %d: %w", q, err)
		}
		s.socks = append(s.socks, x)
		if err := s.objs.XSKMap().Put(uint32(q), uint32(x.fd)); err != nil {
			return fmt.Errorf("queue %d: insert socket into XSKMAP: %w", q, err)
		}
		s.pfds = append(s.pfds, unix.PollFd{Fd: int32(x.fd), Events: unix.POLLIN})
	}
	// Sockets are ready before the program can redirect to them.
	modes := []bpf.XDPMode{s.opts.Mode}
	if s.opts.Mode == bpf.XDPModeAuto {
		modes = []bpf.XDPMode{bpf.XDPModeNative, bpf.XDPModeGeneric}
	}
	var errs []error
	for _, m := range modes {
		l, err := s.objs.Attach(s.opts.Iface, m)
		if err == nil {
			s.xdpLink = l
			s.mode = map[bpf.XDPMode]string{bpf.XDPModeNative: "native", bpf.XDPModeGeneric: "generic", bpf.XDPModeAuto: "auto"}[m]
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkNoHostAddrs refuses an interface with addresses other than IPv6
// link-local ones (which every IPv6-enabled link has).
func checkNoHostAddrs(name string) error {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("find interface: %w", err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return fmt.Errorf("interface addresses: %w", err)
	}
	var host []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok || ip.Unmap().IsLinkLocalUnicast() {
			continue
		}
		host = append(host, ip.Unmap().String())
	}
	if len(host) > 0 {
		return fmt.Errorf("%w %v: XDP redirects the frames it samples into the capture socket, so the host stack would never see them and the host's own traffic on this interface would break; use pcap_source tc for a host's own traffic, or allow XDP explicitly on a dedicated capture port", ErrHostInterface, host)
	}
	return nil
}

// needsFrags says whether frames of an MTU (plus the Ethernet and VLAN
// headers) can outgrow one UMEM chunk less its XDP headroom.
func needsFrags(mtu, frameSize int) bool {
	return mtu+ethOverhead > frameSize-xdpHeadroom
}

const (
	xdpHeadroom = 256    // XDP_PACKET_HEADROOM
	ethOverhead = 14 + 8 // Ethernet header and two VLAN tags
)

func newXSK(ifindex, queue int, o Options, sg bool) (x *xsk, err error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	x = &xsk{fd: fd, fillSize: uint32(o.NumFrames), frameMask: ^uint64(o.FrameSize - 1), sg: sg}
	defer func() {
		if err != nil {
			x.close()
		}
	}()
	n := o.NumFrames
	if x.umem, err = unix.Mmap(-1, 0, n*o.FrameSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE); err != nil {
		return x, fmt.Errorf("map umem: %w", err)
	}
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&x.umem[0]))), Len: uint64(len(x.umem)), Size: uint32(o.FrameSize)}
	if err = setsockopt(fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return x, fmt.Errorf("register umem: %w", err)
	}
	for _, r := range []struct {
		opt, size int
		name      string
	}{{unix.XDP_UMEM_FILL_RING, n, "fill"}, {unix.XDP_UMEM_COMPLETION_RING, 64, "completion"}, {unix.XDP_RX_RING, n, "rx"}} {
		if err = unix.SetsockoptInt(fd, unix.SOL_XDP, r.opt, r.size); err != nil {
			return x, fmt.Errorf("size %s ring: %w", r.name, err)
		}
	}
	var off unix.XDPMmapOffsets
	if err = getsockopt(fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return x, fmt.Errorf("ring offsets: %w", err)
	}
	if x.rxMem, err = unix.Mmap(fd, unix.XDP_PGOFF_RX_RING, int(off.Rx.Desc)+n*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return x, fmt.Errorf("map rx ring: %w", err)
	}
	if x.fillMem, err = unix.Mmap(fd, unix.XDP_UMEM_PGOFF_FILL_RING, int(off.Fr.Desc)+n*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return x, fmt.Errorf("map fill ring: %w", err)
	}
	x.rx = newRing(x.rxMem, off.Rx.Producer, off.Rx.Consumer, off.Rx.Flags, off.Rx.Desc, uint32(n))
	x.fill = newRing(x.fillMem, off.Fr.Producer, off.Fr.Consumer, off.Fr.Flags, off.Fr.Desc, uint32(n))
	// Every frame starts in the kernel's hands; each one user space
	// releases goes straight back, so the fill ring is never short by more
	// than the one frame the caller holds.
	for i := range n {
		x.fill.fillPut(uint64(i * o.FrameSize))
	}
	var sgFlag uint16
	if sg {
		sgFlag = unix.XDP_USE_SG
	}
	sa := &unix.SockaddrXDP{Flags: unix.XDP_ZEROCOPY | unix.XDP_USE_NEED_WAKEUP | sgFlag, Ifindex: uint32(ifindex), QueueID: uint32(queue)}
	if !o.NoZeroCopy {
		if err = unix.Bind(fd, sa); err == nil {
			x.zeroCopy = true
			return x, nil
		}
	}
	// veth and most drivers without AF_XDP support refuse zero-copy
	// (EOPNOTSUPP); copy mode works on every driver.
	sa.Flags = unix.XDP_COPY | unix.XDP_USE_NEED_WAKEUP | sgFlag
	if err = unix.Bind(fd, sa); err != nil {
		return x, fmt.Errorf("bind to queue %d: %w", queue, err)
	}
	return x, nil
}

// rxQueues is the number of RX queues in use (ETHTOOL_GCHANNELS: combined
// plus rx-only channels). The netlink count is only the allocated maximum
// (veth allocates one per CPU but uses one), and binding a socket past the
// queues in use fails, so it is the fallback for drivers without channels.
func rxQueues(name string, allocated int) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return max(allocated, 1)
	}
	defer unix.Close(fd)
	// struct ethtool_channels: cmd, max_rx, max_tx, max_other,
	// max_combined, rx_count, tx_count, other_count, combined_count.
	ch := new([9]uint32) // on the heap, so it cannot move while the kernel writes it
	ch[0] = unix.ETHTOOL_GCHANNELS
	var ifr [40]byte // struct ifreq: name, then ifr_data
	copy(ifr[:unix.IFNAMSIZ-1], name)
	*(*uintptr)(unsafe.Pointer(&ifr[unix.IFNAMSIZ])) = uintptr(unsafe.Pointer(ch))
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(ch)
	if e != 0 || ch[5]+ch[8] == 0 {
		return max(allocated, 1)
	}
	return int(ch[5] + ch[8])
}

func setsockopt(fd, opt int, p unsafe.Pointer, size uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), size, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, opt int, p unsafe.Pointer, size uintptr) error {
	l := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// publishBatch bounds how many released frames wait before the kernel is
// told; far below any ring size.
const publishBatch = 64

func (x *xsk) publish() {
	if x.unpub > 0 {
		x.rx.rxPublish()
		x.fill.fillPublish()
		x.unpub = 0
		// With XDP_USE_NEED_WAKEUP a zero-copy driver that ran out of fill
		// buffers stops and sets the flag; it resumes only when kicked.
		// Copy mode never sets it, so this costs one load per batch.
		if x.fill.needWakeup() {
			x.kick()
		}
	}
}

// kick asks the driver to resume receiving (a non-blocking recvfrom, as
// the kernel's AF_XDP documentation prescribes). Nothing is read: frames
// arrive through the RX ring.
func (x *xsk) kick() {
	unix.Syscall6(unix.SYS_RECVFROM, uintptr(x.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
}

func (x *xsk) close() {
	for _, m := range [][]byte{x.rxMem, x.fillMem, x.umem} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	x.rxMem, x.fillMem, x.umem = nil, nil, nil
	if x.fd >= 0 {
		unix.Close(x.fd)
		x.fd = -1
	}
}

// AttachMode reports where the program runs: "native" or "generic".
func (s *Source) AttachMode() string { return s.mode }

// ZeroCopy reports whether every queue's socket runs in zero-copy mode.
func (s *Source) ZeroCopy() bool {
	for _, x := range s.socks {
		if !x.zeroCopy {
			return false
		}
	}
	return len(s.socks) > 0
}

// Queues is the number of RX queues with a socket bound.
func (s *Source) Queues() int { return len(s.socks) }

// LinkType is Ethernet.
func (s *Source) LinkType() decode.LinkType { return decode.LinkEthernet }

// Next fills f with the next frame from any queue. Frames of one batch
// share the timestamp taken when the batch was found (AF_XDP carries none).
// Dir is unknown: a capture port's direction comes from host_spec. A frame
// spanning several UMEM chunks (see Options.FrameSize) is handed out as
// its first chunk with OrigLen the whole frame. It
// returns capture.ErrTimeout after PollTimeout without a frame and a
// wrapped capture.ErrInterfaceGone (then always) once the interface is
// deleted.
func (s *Source) Next(f *capture.Frame) error {
	if s.objs == nil {
		return fmt.Errorf("af_xdp %s: %w", s.opts.Iface, os.ErrClosed)
	}
	if s.gone {
		return s.goneErr()
	}
	if s.pending >= 0 {
		x := s.socks[s.pending]
		// The frame goes straight back to the fill ring; the shared
		// indices are published every publishBatch frames and whenever the
		// queue runs dry, so the kernel is never short by more than that.
		// The slots stay ours until the consumer index is published, so
		// the descriptors can be read again for their addresses.
		for range x.held {
			x.fill.fillPutLocal(x.rx.rxPeek().addr & x.frameMask)
			x.rx.rxReleaseLocal(1)
		}
		if x.unpub += x.held; x.unpub >= publishBatch {
			x.publish()
		}
		s.pending = -1
	}
	for {
		for i := range s.socks {
			qi := (s.cur + i) % len(s.socks)
			x := s.socks[qi]
			empty := x.rx.cachedProd == x.rx.cachedCons
			if empty {
				x.publish()
			}
			avail := x.rx.rxAvailable()
			if avail == 0 {
				continue
			}
			if empty {
				x.stamp = time.Now()
			}
			d := x.rx.rxPeek()
			end := d.addr + uint64(d.len)
			if end > uint64(len(x.umem)) {
				return fmt.Errorf("af_xdp %s: queue %d: descriptor [%d,%d) outside umem", s.opts.Iface, qi, d.addr, end)
			}
			n, total := uint32(1), uint64(d.len)
			if x.sg && d.options&unix.XDP_PKT_CONTD != 0 {
				var ok bool
				if n, total, ok = x.chain(avail); !ok {
					continue
				}
			}
			f.Data = x.umem[d.addr:end:end]
			f.CapLen = int(d.len)
			f.OrigLen = int(total)
			f.Timestamp = x.stamp
			f.LinkType = decode.LinkEthernet
			f.Dir = decode.DirUnknown
			x.held = n
			s.pending = qi
			// Stay on this queue while it has frames, then move on, so
			// no queue waits behind a busy one for long.
			if x.rx.cachedProd-x.rx.cachedCons <= n {
				s.cur = (qi + 1) % len(s.socks)
			} else {
				s.cur = qi
			}
			s.stats.Received++
			s.stats.Bytes += total
			return nil
		}
		if err := s.wait(); err != nil {
			return err
		}
	}
}

// maxChain bounds the descriptors of one frame: the kernel's limit is
// MAX_SKB_FRAGS (17) fragments after the first buffer.
const maxChain = 18

// chain measures the multi-buffer frame at the consumer position: its
// descriptor count and total length. The kernel publishes a frame's
// descriptors together, so an incomplete chain (ok false) is only seen if
// that ever changes; it is then left for the next call.
func (x *xsk) chain(avail uint32) (n uint32, total uint64, ok bool) {
	for n < avail {
		d := x.rx.rxPeekAt(n)
		n++
		total += uint64(d.len)
		// A chain past the kernel's limit cannot happen; should it, the
		// descriptors seen so far still go back to the fill ring.
		if d.options&unix.XDP_PKT_CONTD == 0 || n == maxChain {
			return n, total, true
		}
	}
	return 0, 0, false
}

// wait blocks until some RX ring may have frames. A busy stream (the last
// poll ended within BatchDelay) is left to build a batch for BatchDelay, as
// long as such sleeps keep finding frames; otherwise it sleeps in poll,
// which the kernel ends with the first frame.
func (s *Source) wait() error {
	d := s.opts.BatchDelay
	if d > 0 && s.busy && s.stats.Received != s.waitRecv {
		s.waitRecv = s.stats.Received
		ts := unix.NsecToTimespec(int64(d))
		unix.Nanosleep(&ts, nil) // EINTR only shortens the batch
		return nil
	}
	s.waitRecv = s.stats.Received
	for i := range s.pfds {
		s.pfds[i].Revents = 0
	}
	var start time.Time
	if d > 0 {
		start = time.Now()
	}
	n, err := unix.Poll(s.pfds, int(s.opts.PollTimeout/time.Millisecond))
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("af_xdp %s: poll: %w", s.opts.Iface, err)
	}
	if n > 0 {
		s.busy = d > 0 && time.Since(start) < d
		return nil
	}
	s.busy = false
	if s.probe.State() == ifprobe.Gone {
		s.gone = true
		return s.goneErr()
	}
	return capture.ErrTimeout
}

func (s *Source) goneErr() error {
	return fmt.Errorf("af_xdp %s: %w", s.opts.Iface, capture.ErrInterfaceGone)
}

// SetSampleRate changes the share of flows redirected to user space while
// capturing; counting is unaffected.
func (s *Source) SetSampleRate(percent int) error { return s.objs.SetSampleRate(percent) }

// XDPStats sums XDP_STATISTICS over the sockets.
func (s *Source) XDPStats() unix.XDPStatistics {
	var sum unix.XDPStatistics
	for _, x := range s.socks {
		var st unix.XDPStatistics
		if err := getsockopt(x.fd, unix.XDP_STATISTICS, unsafe.Pointer(&st), unsafe.Sizeof(st)); err != nil {
			continue
		}
		sum.Rx_dropped += st.Rx_dropped
		sum.Rx_invalid_descs += st.Rx_invalid_descs
		sum.Rx_ring_full += st.Rx_ring_full
		sum.Rx_fill_ring_empty_descs += st.Rx_fill_ring_empty_descs
	}
	return sum
}

// Stats reports frames delivered, socket drops (XDP_STATISTICS: RX ring
// full, and frames dropped for want of a fill-ring buffer) and the kernel's
// exact counters.
func (s *Source) Stats() capture.Stats {
	st := s.stats
	if s.objs == nil {
		return st
	}
	x := s.XDPStats()
	st.OSDrops = x.Rx_dropped + x.Rx_ring_full
	if t, err := s.objs.Counters(); err == nil {
		st.Kernel = kcount.FromTotals(t)
		st.Filtered = st.Kernel.Filtered
		st.OSDrops += st.Kernel.RingFailures
	}
	return st
}

// Close detaches the program, then closes the sockets and the maps.
func (s *Source) Close() error {
	var errs []error
	if s.xdpLink != nil {
		if err := s.xdpLink.Close(); err != nil {
			errs = append(errs, err)
		}
		s.xdpLink = nil
	}
	for _, x := range s.socks {
		x.close()
	}
	s.socks = nil
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
		return fmt.Errorf("af_xdp %s: close: %w", s.opts.Iface, err)
	}
	return nil
}
