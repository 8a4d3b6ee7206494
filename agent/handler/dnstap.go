package handler

import (
	"net/netip"
	"time"

	"github.com/visorng/visor/decode"
)

// DnstapType is a dnstap Message.Type value (dnstap.proto numbering).
type DnstapType uint8

const (
	DnstapAuthQuery         DnstapType = 1
	DnstapAuthResponse      DnstapType = 2
	DnstapResolverQuery     DnstapType = 3
	DnstapResolverResponse  DnstapType = 4
	DnstapClientQuery       DnstapType = 5
	DnstapClientResponse    DnstapType = 6
	DnstapForwarderQuery    DnstapType = 7
	DnstapForwarderResponse DnstapType = 8
	DnstapStubQuery         DnstapType = 9
	DnstapStubResponse      DnstapType = 10
	DnstapToolQuery         DnstapType = 11
	DnstapToolResponse      DnstapType = 12
	DnstapUpdateQuery       DnstapType = 13
	DnstapUpdateResponse    DnstapType = 14
)

// IsResponse reports whether t is one of the *_RESPONSE types (they are the
// even values).
func (t DnstapType) IsResponse() bool { return t != 0 && t%2 == 0 }

// DnstapProtocol is a dnstap SocketProtocol value.
type DnstapProtocol uint8

const (
	DnstapUDP         DnstapProtocol = 1
	DnstapTCP         DnstapProtocol = 2
	DnstapDOT         DnstapProtocol = 3
	DnstapDOH         DnstapProtocol = 4
	DnstapDNSCryptUDP DnstapProtocol = 5
	DnstapDNSCryptTCP DnstapProtocol = 6
	DnstapDOQ         DnstapProtocol = 7
)

// DnstapMessage is the part of a dnstap MESSAGE frame the handlers read.
// Byte slices are only valid during the call.
type DnstapMessage struct {
	Type     DnstapType
	Family   decode.L3 // L3Other when the frame has no socket_family
	Protocol DnstapProtocol
	// Query/Response address and port; invalid/zero when absent.
	QueryAddr, ResponseAddr netip.Addr
	QueryPort, ResponsePort uint16
	// QueryTime/ResponseTime are zero when absent.
	QueryTime, ResponseTime time.Time
	QueryMessage            []byte
	ResponseMessage         []byte
	// FrameSize is the size of the Frame Streams data frame.
	FrameSize int
}

// DnstapConsumer receives dnstap messages from a dnstap input.
type DnstapConsumer interface {
	HandleDnstap(m *DnstapMessage)
}
