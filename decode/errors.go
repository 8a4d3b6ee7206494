package decode

import "errors"

// Sentinel errors say what went wrong; Decode returns them wrapped in a
// LayerError that also says where. Test with errors.Is.
var (
	ErrTruncated       = errors.New("truncated")
	ErrMalformed       = errors.New("malformed")
	ErrUnsupportedLink = errors.New("unsupported link type")
)

// Layer names the header a decode error was found in.
type Layer uint8

const (
	LayerLink Layer = iota
	LayerEthernet
	LayerVLAN
	LayerLinuxSLL
	LayerLinuxSLL2
	LayerNull
	LayerIP // raw IP link whose version nibble is neither 4 nor 6
	LayerIPv4
	LayerIPv6
	LayerIPv6Ext
	LayerUDP
	LayerTCP
	LayerICMP
	LayerICMPv6
)

func (l Layer) String() string {
	switch l {
	case LayerLink:
		return "link"
	case LayerEthernet:
		return "ethernet header"
	case LayerVLAN:
		return "vlan tag"
	case LayerLinuxSLL:
		return "linux sll header"
	case LayerLinuxSLL2:
		return "linux sll2 header"
	case LayerNull:
		return "null/loopback header"
	case LayerIP:
		return "ip header"
	case LayerIPv4:
		return "ipv4 header"
	case LayerIPv6:
		return "ipv6 header"
	case LayerIPv6Ext:
		return "ipv6 extension header"
	case LayerUDP:
		return "udp header"
	case LayerTCP:
		return "tcp header"
	case LayerICMP:
		return "icmp header"
	case LayerICMPv6:
		return "icmpv6 header"
	}
	return "unknown layer"
}

// errKind is the low two bits of a LayerError.
type errKind uint8

const (
	kindTruncated errKind = iota
	kindMalformed
	kindUnsupportedLink
)

// LayerError is a decode error: a sentinel (ErrTruncated, ErrMalformed,
// ErrUnsupportedLink) tagged with the Layer it was found in.
//
// It is a single byte rather than a struct holding an error so that returning
// it as an error never allocates (the runtime boxes byte-sized values without
// a heap allocation) and so that it is an immutable, comparable value: bad
// packets are as cheap to reject as good ones are to accept.
type LayerError uint8

func layerErr(l Layer, k errKind) LayerError { return LayerError(uint8(l)<<2 | uint8(k)) }

// Layer reports the header the error was found in.
func (e LayerError) Layer() Layer { return Layer(e >> 2) }

// Unwrap returns the sentinel, so errors.Is(err, ErrTruncated) works.
func (e LayerError) Unwrap() error {
	switch errKind(e & 3) {
	case kindTruncated:
		return ErrTruncated
	case kindMalformed:
		return ErrMalformed
	}
	return ErrUnsupportedLink
}

func (e LayerError) Error() string { return e.Layer().String() + ": " + e.Unwrap().Error() }
