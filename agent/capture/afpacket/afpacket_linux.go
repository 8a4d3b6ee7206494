//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// Source is a capture.Source over a TPACKET_V3 ring. Next, Stats and Close
// must be called from one goroutine at a time: Close unmaps the ring that
// frames alias. To stop a capture, stop calling Next (it returns ErrTimeout
// at least every PollTimeout) and then call Close.
type Source struct {
	opts    Options
	fd      int
	ifindex int
	framing framing
	ring    []byte
	pfd     [1]unix.PollFd

	// The block being walked, if any.
	block     int // index of the current block
	inBlock   bool
	remaining uint32 // frames left in the block
	pktOff    int    // offset in ring of the next frame header

	// vm re-runs the filter on VLAN frames, which bypass the kernel filter
	// (see socketFilter); nil without a filter.
	vm    *bpf.VM
	ifreq *unix.Ifreq // for the interface existence check, reused

	gone  bool // the interface was removed; sticky
	stats capture.Stats
	ring3 RingStats
}

var _ capture.Source = (*Source)(nil)

// Open creates the socket and ring on the interface named in opts and starts
// capturing. The socket belongs to the network namespace of the calling
// thread.
func Open(opts Options) (*Source, error) {
	opts = opts.withDefaults()
	if err := opts.validate(os.Getpagesize()); err != nil {
		return nil, err
	}
	// Protocol 0: the socket receives nothing until bind, so no frame
	// reaches the ring before the filter is in place.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("af_packet %s: socket: %w", opts.Iface, err)
	}
	s := &Source{opts: opts, fd: fd, stats: capture.Stats{Path: "af_packet"}}
	if err := s.setup(); err != nil {
		s.Close()
		return nil, fmt.Errorf("af_packet %s: %w", opts.Iface, err)
	}
	return s, nil
}

func (s *Source) setup() error {
	o := s.opts
	if o.Iface == AnyInterface {
		s.framing = framingCooked
	} else {
		ifr, err := unix.NewIfreq(o.Iface)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFINDEX, ifr); err != nil {
			return fmt.Errorf("interface index: %w", err)
		}
		s.ifindex = int(ifr.Uint32())
		if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFHWADDR, ifr); err != nil {
			return fmt.Errorf("interface hardware type: %w", err)
		}
		// ifr_hwaddr.sa_family is the first field of the union.
		s.framing = framingFor(ifr.Uint16())
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("set TPACKET_V3: %w", err)
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_RESERVE, reserveSize); err != nil {
		return fmt.Errorf("set PACKET_RESERVE: %w", err)
	}
	if err := s.attachFilter(); err != nil {
		return err
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(o.BlockSize),
		Block_nr:       uint32(o.BlockCount),
		Frame_size:     frameSize,
		Frame_nr:       uint32(o.BlockSize / frameSize * o.BlockCount),
		Retire_blk_tov: uint32(o.RetireTimeout / time.Millisecond),
	}
	if err := unix.SetsockoptTpacketReq3(s.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("set PACKET_RX_RING (%d × %d bytes): %w", o.BlockCount, o.BlockSize, err)
	}
	ring, err := unix.Mmap(s.fd, 0, o.BlockSize*o.BlockCount, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED|unix.MAP_POPULATE)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOMEM) {
		// RLIMIT_MEMLOCK too low to lock the ring; an unlocked mapping works.
		ring, err = unix.Mmap(s.fd, 0, o.BlockSize*o.BlockCount, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		return fmt.Errorf("mmap ring: %w", err)
	}
	s.ring = ring
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: s.ifindex}
	if err := unix.Bind(s.fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if !o.NoPromiscuous && s.ifindex != 0 {
		mr := unix.PacketMreq{Ifindex: int32(s.ifindex), Type: unix.PACKET_MR_PROMISC}
		// The membership, and with it promiscuous mode, ends with the socket.
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fmt.Errorf("set promiscuous: %w", err)
		}
	}
	if o.Fanout != nil {
		v := int(o.Fanout.Group) | int(o.Fanout.Mode)<<16
		if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, v); err != nil {
			return fmt.Errorf("join fanout group %d: %w", o.Fanout.Group, err)
		}
	}
	// Counters from before bind (none are expected) must not be reported.
	if _, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err != nil {
		return fmt.Errorf("read PACKET_STATISTICS: %w", err)
	}
	s.pfd[0] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR}
	return nil
}

// frameSize only matters to TPACKET_V1/V2 but V3 still validates it.
const frameSize = 2048

func framingFor(arphrd uint16) framing {
	switch arphrd {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return framingEthernet
	case unix.ARPHRD_NONE:
		return framingRaw
	}
	return framingCooked
}

func (s *Source) attachFilter() error {
	if len(s.opts.Filter) > 0 {
		insns, ok := bpf.Disassemble(s.opts.Filter)
		if !ok {
			return fmt.Errorf("filter: cannot decode classic BPF program")
		}
		// A filter the Go VM cannot run (ancillary loads) is left to the
		// kernel alone.
		if vm, err := bpf.NewVM(insns); err == nil {
			s.vm = vm
		}
	}
	prog, err := socketFilter(s.opts.Filter, s.opts.SnapLen, s.framing, s.vm != nil)
	if err != nil {
		return err
	}
	ins := make([]unix.SockFilter, len(prog))
	for i, p := range prog {
		ins[i] = unix.SockFilter{Code: p.Op, Jt: p.Jt, Jf: p.Jf, K: p.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("attach filter (%d instructions): %w", len(ins), err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// LinkType is the link type of the frames this source delivers; a filter
// must be compiled for it.
func (s *Source) LinkType() decode.LinkType { return s.framing.linkType() }

// LinkTypeOf is the link type Open would use for the interface, so a filter
// can be compiled before opening.
func LinkTypeOf(iface string) (decode.LinkType, error) {
	if iface == AnyInterface {
		return decode.LinkLinuxSLL, nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("link type of %s: %w", iface, err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return 0, fmt.Errorf("link type of %s: %w", iface, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, fmt.Errorf("link type of %s: %w", iface, err)
	}
	return framingFor(ifr.Uint16()).linkType(), nil
}

func (s *Source) blockStatus(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&s.ring[b*s.opts.BlockSize+bdBlockStatus]))
}

// Next fills f with the next frame. It returns capture.ErrTimeout when no
// frame came within PollTimeout, a wrapped capture.ErrInterfaceDown when the
// interface went down (capture resumes when it comes up), and a wrapped
// capture.ErrInterfaceGone, on this and every later call, once the
// interface is removed.
func (s *Source) Next(f *capture.Frame) error {
	if s.ring == nil {
		return fmt.Errorf("af_packet %s: %w", s.opts.Iface, os.ErrClosed)
	}
	if s.gone {
		return s.goneErr()
	}
	bs := s.opts.BlockSize
	for {
		if s.inBlock {
			if s.remaining > 0 {
				base := s.block * bs
				blk := s.ring[base : base+bs]
				sl, ok := parseSlot(blk, s.pktOff, s.framing)
				if !ok {
					return fmt.Errorf("af_packet %s: malformed ring frame at block %d offset %d", s.opts.Iface, s.block, s.pktOff)
				}
				start := s.pktOff + sl.start
				capLen := min(sl.capLen, s.opts.SnapLen)
				data := blk[start : start+capLen : start+capLen]
				s.remaining--
				s.pktOff += int(sl.next)
				if sl.vlan && s.vm != nil {
					if n, err := s.vm.Run(data); err != nil || n == 0 {
						s.stats.Filtered++
						continue
					}
				}
				f.Data = data
				f.CapLen = capLen
				f.OrigLen = sl.origLen
				f.Timestamp = time.Unix(int64(sl.sec), int64(sl.nsec))
				f.LinkType = s.framing.linkType()
				f.Dir = sl.dir
				s.stats.Received++
				s.stats.Bytes += uint64(sl.origLen)
				return nil
			}
			// Every frame of the block was handed out and the caller has
			// moved on: give the block back.
			atomic.StoreUint32(s.blockStatus(s.block), 0)
			s.inBlock = false
			s.block = (s.block + 1) % s.opts.BlockCount
		}
		if atomic.LoadUint32(s.blockStatus(s.block))&statusUser != 0 {
			base := s.block * bs
			hdr := s.ring[base : base+bdLen]
			s.remaining = nativeUint32(hdr[bdNumPkts:])
			s.pktOff = int(nativeUint32(hdr[bdFirstPkt:]))
			s.inBlock = true
			continue
		}
		if err := s.wait(); err != nil {
			return err
		}
	}
}

// wait polls until the ring may have a block or the timeout passes.
func (s *Source) wait() error {
	s.pfd[0].Revents = 0
	n, err := unix.Poll(s.pfd[:], int(s.opts.PollTimeout/time.Millisecond))
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("af_packet %s: poll: %w", s.opts.Iface, err)
	}
	if n > 0 && s.pfd[0].Revents&unix.POLLERR != 0 {
		return s.socketError()
	}
	if n > 0 {
		return nil
	}
	// Idle. An interface removed while it was already down raises no socket
	// error, so look for it here.
	if !s.ifaceExists() {
		s.gone = true
		return s.goneErr()
	}
	return capture.ErrTimeout
}

func (s *Source) socketError() error {
	errno, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("af_packet %s: read socket error: %w", s.opts.Iface, err)
	}
	if unix.Errno(errno) == unix.ENETDOWN {
		if !s.ifaceExists() {
			s.gone = true
			return s.goneErr()
		}
		return fmt.Errorf("af_packet %s: %w", s.opts.Iface, capture.ErrInterfaceDown)
	}
	return fmt.Errorf("af_packet %s: socket error: %w", s.opts.Iface, unix.Errno(errno))
}

func (s *Source) goneErr() error {
	return fmt.Errorf("af_packet %s: %w", s.opts.Iface, capture.ErrInterfaceGone)
}

// ifaceExists asks the socket's own network namespace (not the calling
// thread's) whether the bound interface index still exists.
func (s *Source) ifaceExists() bool {
	if s.ifindex == 0 {
		return true
	}
	if s.ifreq == nil {
		ifr, err := unix.NewIfreq("")
		if err != nil {
			return true
		}
		s.ifreq = ifr
	}
	s.ifreq.SetUint32(uint32(s.ifindex))
	err := unix.IoctlIfreq(s.fd, unix.SIOCGIFNAME, s.ifreq)
	return !errors.Is(err, unix.ENODEV)
}

func nativeUint32(b []byte) uint32 { return *(*uint32)(unsafe.Pointer(&b[0])) }

// Stats reports frames delivered and the kernel's drop counters, which it
// reads (and the kernel resets) on every call.
func (s *Source) Stats() capture.Stats {
	s.readRingStats()
	st := s.stats
	st.OSDrops = s.ring3.Drops
	return st
}

// RingStats reports the accumulated PACKET_STATISTICS.
func (s *Source) RingStats() RingStats {
	s.readRingStats()
	return s.ring3
}

func (s *Source) readRingStats() {
	if s.fd < 0 {
		return
	}
	ks, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	s.ring3.Packets += uint64(ks.Packets)
	s.ring3.Drops += uint64(ks.Drops)
	s.ring3.Freezes += uint64(ks.Freeze_q_cnt)
}

// Close releases the ring and the socket. Frames from this source are
// invalid afterwards.
func (s *Source) Close() error {
	var errs []error
	if s.ring != nil {
		s.readRingStats()
		if err := unix.Munmap(s.ring); err != nil {
			errs = append(errs, fmt.Errorf("munmap: %w", err))
		}
		s.ring = nil
	}
	if s.fd >= 0 {
		if err := unix.Close(s.fd); err != nil {
			errs = append(errs, fmt.Errorf("close: %w", err))
		}
		s.fd = -1
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("af_packet %s: %w", s.opts.Iface, err)
	}
	return nil
}
