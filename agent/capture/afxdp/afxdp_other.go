//go:build !linux

package afxdp

import (
	"errors"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// ErrNotLinux is returned everywhere but Linux.
var ErrNotLinux = errors.New("af_xdp is only available on linux")

// Source is not available off Linux.
type Source struct{}

var _ capture.Source = (*Source)(nil)

// Open fails with ErrNotLinux.
func Open(Options) (*Source, error) { return nil, ErrNotLinux }

func (*Source) Next(*capture.Frame) error { return ErrNotLinux }
func (*Source) Stats() capture.Stats      { return capture.Stats{Path: "af_xdp"} }
func (*Source) LinkType() decode.LinkType { return decode.LinkEthernet }
func (*Source) AttachMode() string        { return "" }
func (*Source) ZeroCopy() bool            { return false }
func (*Source) Queues() int               { return 0 }
func (*Source) SetSampleRate(int) error   { return ErrNotLinux }
func (*Source) Close() error              { return nil }
