//go:build libpcap && cgo

package libpcap

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/capture/internal/ifprobe"
	"github.com/visorng/visor/decode"
)

// Source is a capture.Source over a live libpcap handle. Next, Stats and
// Close must not run concurrently.
type Source struct {
	opts Options
	h    *pcap.Handle
	link decode.LinkType
	// wire re-checks VLAN-tagged frames: the kernel judged them with their
	// outer tag stripped, so a live libpcap filter accepts tagged frames a
	// pcap file filtered with the same expression would not.
	wire   *pcap.BPF
	probe  *ifprobe.Probe
	down   bool
	gone   bool
	stats  capture.Stats
	closed bool
}

var _ capture.Source = (*Source)(nil)

// Open activates a libpcap handle on the interface. The capture socket
// belongs to the calling thread's network namespace.
func Open(opts Options) (*Source, error) {
	opts = opts.withDefaults()
	if opts.Iface == "" {
		return nil, errors.New("libpcap: no interface given")
	}
	in, err := pcap.NewInactiveHandle(opts.Iface)
	if err != nil {
		return nil, fmt.Errorf("libpcap %s: %w", opts.Iface, err)
	}
	defer in.CleanUp()
	for _, step := range []struct {
		what string
		err  error
	}{
		{"snaplen", in.SetSnapLen(opts.SnapLen)},
		{"promiscuous", in.SetPromisc(!opts.NoPromiscuous && opts.Iface != "any")},
		{"timeout", in.SetTimeout(opts.BufferTimeout)},
		{"buffer size", in.SetBufferSize(opts.BufferSize)},
	} {
		if step.err != nil {
			return nil, fmt.Errorf("libpcap %s: set %s: %w", opts.Iface, step.what, step.err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, fmt.Errorf("libpcap %s: activate: %w", opts.Iface, err)
	}
	s := &Source{opts: opts, h: h, stats: capture.Stats{Path: "libpcap"}}
	if s.link, err = linkType(h.LinkType()); err != nil {
		h.Close()
		return nil, fmt.Errorf("libpcap %s: %w", opts.Iface, err)
	}
	if opts.Filter != "" {
		if err := h.SetBPFFilter(opts.Filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("libpcap %s: filter %q: %w", opts.Iface, opts.Filter, err)
		}
		if s.link == decode.LinkEthernet {
			if s.wire, err = pcap.NewBPF(layers.LinkTypeEthernet, opts.SnapLen, opts.Filter); err != nil {
				h.Close()
				return nil, fmt.Errorf("libpcap %s: filter %q: %w", opts.Iface, opts.Filter, err)
			}
		}
	}
	if s.probe, err = ifprobe.New(opts.Iface); err != nil {
		h.Close()
		return nil, fmt.Errorf("libpcap %s: %w", opts.Iface, err)
	}
	return s, nil
}

// linkType maps libpcap's data link type (DLT_*) to ours (LINKTYPE_*).
func linkType(l layers.LinkType) (decode.LinkType, error) {
	switch l {
	case layers.LinkTypeEthernet:
		return decode.LinkEthernet, nil
	case layers.LinkTypeLinuxSLL:
		return decode.LinkLinuxSLL, nil
	case 276:
		return decode.LinkLinuxSLL2, nil
	case layers.LinkTypeRaw, 12, 14: // LINKTYPE_RAW and the platform DLT_RAW values
		return decode.LinkRaw, nil
	case layers.LinkTypeNull:
		return decode.LinkNull, nil
	case layers.LinkTypeIPv4:
		return decode.LinkIPv4, nil
	case layers.LinkTypeIPv6:
		return decode.LinkIPv6, nil
	}
	return 0, fmt.Errorf("unsupported data link type %d (%s)", l, l)
}

// LinkType is the link type of delivered frames.
func (s *Source) LinkType() decode.LinkType { return s.link }

// Next fills f with the next frame; it returns capture.ErrTimeout after
// PollTimeout without one, a wrapped capture.ErrInterfaceDown when libpcap
// reports the interface went down, and a wrapped capture.ErrInterfaceGone
// (then on every call) when it disappeared.
func (s *Source) Next(f *capture.Frame) error {
	if s.closed {
		return fmt.Errorf("libpcap %s: %w", s.opts.Iface, os.ErrClosed)
	}
	if s.gone {
		return fmt.Errorf("libpcap %s: %w", s.opts.Iface, capture.ErrInterfaceGone)
	}
	var deadline time.Time
	for {
		data, ci, err := s.h.ZeroCopyReadPacketData()
		if err == nil {
			if s.wire != nil && isVLAN(data) && !s.wire.Matches(ci, data) {
				s.stats.Filtered++
				continue
			}
			s.down = false
			f.Data = data
			f.CapLen = len(data)
			f.OrigLen = ci.Length
			f.Timestamp = ci.Timestamp
			f.LinkType = s.link
			f.Dir = decode.DirUnknown
			s.stats.Received++
			s.stats.Bytes += uint64(ci.Length)
			return nil
		}
		if !errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return s.readError(err)
		}
		// libpcap times out every BufferTimeout; report only after a full
		// PollTimeout so idle callers wake at a sane rate.
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(s.opts.PollTimeout - s.opts.BufferTimeout)
		}
		if now.Before(deadline) {
			continue
		}
		// gopacket polls libpcap in non-blocking mode, where libpcap never
		// looks at the socket error that says the interface went down, so
		// ask the kernel directly.
		switch s.probe.State() {
		case ifprobe.Gone:
			s.gone = true
			return fmt.Errorf("libpcap %s: %w", s.opts.Iface, capture.ErrInterfaceGone)
		case ifprobe.Down:
			if !s.down {
				s.down = true
				return fmt.Errorf("libpcap %s: %w", s.opts.Iface, capture.ErrInterfaceDown)
			}
		}
		return capture.ErrTimeout
	}
}

// readError classifies a libpcap read error by its text: libpcap reports
// "The interface went down" and "The interface disappeared" (and ENODEV as
// "No such device") without distinct codes through gopacket.
func (s *Source) readError(err error) error {
	msg := err.Error()
	if herr := s.h.Error(); herr != nil && herr.Error() != "" {
		msg = herr.Error()
	}
	l := strings.ToLower(msg)
	switch {
	case strings.Contains(l, "disappeared"), strings.Contains(l, "no such device"):
		s.gone = true
		return fmt.Errorf("libpcap %s: %s: %w", s.opts.Iface, msg, capture.ErrInterfaceGone)
	case strings.Contains(l, "went down"), strings.Contains(l, "network is down"):
		return fmt.Errorf("libpcap %s: %s: %w", s.opts.Iface, msg, capture.ErrInterfaceDown)
	}
	return fmt.Errorf("libpcap %s: read: %s", s.opts.Iface, msg)
}

// Stats adds libpcap's own counters (pcap_stats): OS drops are frames the
// kernel could not queue, interface drops those the driver reported.
func (s *Source) Stats() capture.Stats {
	st := s.stats
	if s.closed {
		return st
	}
	if ps, err := s.h.Stats(); err == nil {
		st.OSDrops = uint64(ps.PacketsDropped)
		st.IfDrops = uint64(ps.PacketsIfDropped)
		s.stats.OSDrops, s.stats.IfDrops = st.OSDrops, st.IfDrops
	}
	return st
}

// Close releases the handle; frames from the source are invalid afterwards.
func (s *Source) Close() error {
	if !s.closed {
		s.closed = true
		s.h.Close()
		s.probe.Close()
	}
	return nil
}

// isVLAN says whether an Ethernet frame carries an 802.1Q/802.1ad tag.
func isVLAN(b []byte) bool {
	if len(b) < 14 {
		return false
	}
	t := uint16(b[12])<<8 | uint16(b[13])
	return t == 0x8100 || t == 0x88a8 || t == 0x9100
}

func (o Options) withDefaults() Options {
	if o.SnapLen == 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.BufferTimeout == 0 {
		o.BufferTimeout = DefaultBufferTimeout
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	return o
}
