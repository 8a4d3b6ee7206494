//go:build !linux

package afpacket

import (
	"errors"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// ErrNotLinux is returned everywhere but Linux, in pktvisor's words.
var ErrNotLinux = errors.New("af_packet is only available on linux")

// Source is not available off Linux.
type Source struct{}

var _ capture.Source = (*Source)(nil)

// Open fails with ErrNotLinux.
func Open(Options) (*Source, error) { return nil, ErrNotLinux }

// LinkTypeOf fails with ErrNotLinux.
func LinkTypeOf(string) (decode.LinkType, error) { return 0, ErrNotLinux }

func (*Source) Next(*capture.Frame) error { return ErrNotLinux }
func (*Source) Stats() capture.Stats      { return capture.Stats{Path: "af_packet"} }
func (*Source) RingStats() RingStats      { return RingStats{} }
func (*Source) LinkType() decode.LinkType { return decode.LinkEthernet }
func (*Source) Close() error              { return nil }
