//go:build !libpcap || !cgo

package libpcap

import (
	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// Source is unavailable in this build.
type Source struct{}

var _ capture.Source = (*Source)(nil)

// Open fails with ErrNotBuilt.
func Open(Options) (*Source, error) { return nil, ErrNotBuilt }

func (*Source) Next(*capture.Frame) error { return ErrNotBuilt }
func (*Source) Stats() capture.Stats      { return capture.Stats{Path: "libpcap"} }
func (*Source) LinkType() decode.LinkType { return decode.LinkEthernet }
func (*Source) Close() error              { return nil }
