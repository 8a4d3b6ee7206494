package afpacket

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Classic BPF opcode pieces (linux/filter.h) that the rewrites look at.
const (
	bpfClassMask = 0x07
	bpfClassLd   = 0x00
	bpfClassLdx  = 0x01
	bpfClassRet  = 0x06
	bpfModeMask  = 0xe0
	bpfModeAbs   = 0x20
	bpfModeInd   = 0x40
	bpfModeMsh   = 0xa0
	bpfSizeMask  = 0x18
	bpfSizeH     = 0x08
	bpfSrcMask   = 0x18 // for ret: BPF_K (0x00) or BPF_A (0x10)
	bpfRetK      = 0x00

	// Ancillary loads (SKF_AD_OFF + SKF_AD_*).
	skfAdOff            = 0xfffff000 // uint32(-0x1000)
	skfNetOff           = 0xfff00000 // uint32(-0x100000): relative to the network header
	negativeOff         = 0x80000000 // loads at or above are special (ancillary, SKF_*_OFF)
	skfAdProtocol       = 0
	skfAdPkttype        = 4
	skfAdVlanTagPresent = 48

	bpfLdWAbs = 0x20
	bpfJeqK   = 0x15
)

// socketFilter builds the program attached to the socket: the user's filter
// with every constant accept length capped at snapLen (the kernel copies
// what the filter returns), or a lone "accept snapLen" when there is no
// filter. A program written for the SLL link type (AnyInterface) is rebased
// onto the devices' own framing by rebaseCooked.
//
// The kernel strips a frame's outer VLAN tag into metadata before packet
// sockets see it, so a filter written for the frame as on the wire would
// judge VLAN frames by their inner headers ("udp port 53" would accept
// tagged DNS, "vlan 100" would accept nothing). The program therefore
// starts by accepting every frame that had a tag; the source puts the tag
// back and runs the user's filter on the real frame in user space. Without
// vlanBypass (when the filter cannot run in user space) the kernel's view
// decides.
func socketFilter(prog []bpf.RawInstruction, snapLen int, fr framing, vlanBypass bool) ([]bpf.RawInstruction, error) {
	accept := bpf.RawInstruction{Op: bpfClassRet | bpfRetK, K: uint32(snapLen)}
	if len(prog) == 0 {
		return []bpf.RawInstruction{accept}, nil
	}
	out := make([]bpf.RawInstruction, 0, len(prog)+3)
	skip := 0
	if vlanBypass {
		skip = 3
		out = append(out,
			bpf.RawInstruction{Op: bpfLdWAbs, K: skfAdOff + skfAdVlanTagPresent},
			bpf.RawInstruction{Op: bpfJeqK, Jt: 1, K: 0}, // untagged: run the filter
			accept,
		)
	}
	out = append(out, prog...)
	for i := range out {
		in := &out[i]
		if in.Op&bpfClassMask == bpfClassRet && in.Op&bpfSrcMask == bpfRetK && in.K > uint32(snapLen) {
			in.K = uint32(snapLen)
		}
	}
	if fr == framingCooked {
		if err := rebaseCooked(out[skip:]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rebaseCooked rewrites, in place, packet loads of a program compiled for
// the 16-byte Linux SLL header so it runs on a socket bound to every
// interface, where the kernel shows the filter each device's own link
// header: loads past the SLL header become loads relative to the network
// header (SKF_NET_OFF), and the two header fields a filter commonly reads —
// the packet type and the protocol — become the kernel's ancillary loads. Any
// other read of the header cannot be expressed and is an error (libpcap
// falls back to filtering in user space there; we would rather say so).
func rebaseCooked(prog []bpf.RawInstruction) error {
	for i := range prog {
		in := &prog[i]
		class, mode := in.Op&bpfClassMask, in.Op&bpfModeMask
		switch {
		case class == bpfClassLd && mode == bpfModeAbs:
			if in.K >= negativeOff {
				continue // already ancillary or negative-offset load
			}
			switch {
			case in.K >= sllHdrLen:
				in.K += skfNetOff - sllHdrLen
			case in.K == 14 && in.Op&bpfSizeMask == bpfSizeH:
				in.K = skfAdOff + skfAdProtocol
			case in.K == 0 && in.Op&bpfSizeMask == bpfSizeH:
				in.K = skfAdOff + skfAdPkttype
			default:
				return fmt.Errorf("af_packet: filter instruction %d reads cooked header byte %d, which the kernel does not show a cooked socket's filter", i, in.K)
			}
		case class == bpfClassLd && mode == bpfModeInd,
			class == bpfClassLdx && mode == bpfModeMsh:
			if in.K < sllHdrLen {
				return fmt.Errorf("af_packet: filter instruction %d reads at offset %d relative to the cooked header", i, in.K)
			}
			in.K += skfNetOff - sllHdrLen
		}
	}
	return nil
}
