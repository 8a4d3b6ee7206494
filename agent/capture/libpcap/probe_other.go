//go:build libpcap && cgo && !linux

package libpcap

type ifaceState uint8

const (
	ifaceUp ifaceState = iota
	ifaceDown
	ifaceGone
)

// ifaceProbe has no portable way to ask; libpcap's own errors stand.
type ifaceProbe struct{}

func newIfaceProbe(string) (*ifaceProbe, error) { return &ifaceProbe{}, nil }
func (*ifaceProbe) state() ifaceState           { return ifaceUp }
func (*ifaceProbe) close()                      {}
