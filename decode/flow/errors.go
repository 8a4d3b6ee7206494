package flow

import (
	"errors"
	"strconv"
)

// Categories of decode failure. Every error a decoder returns is an *Error
// that unwraps to one of these and to its cause, so callers can count by
// category (errors.Is(err, ErrTruncated)) and still log the specific reason.
var (
	ErrVersion   = errors.New("unsupported version")
	ErrTruncated = errors.New("truncated")
	ErrMalformed = errors.New("malformed")
)

// Protocol names the decoder that failed.
type Protocol uint8

const (
	ProtoNetFlow Protocol = iota // NetFlow v1/v5/v7/v9 and IPFIX share an entry point
	ProtoSFlow
)

func (p Protocol) String() string {
	if p == ProtoSFlow {
		return "sflow"
	}
	return "netflow"
}

// Error is a decode failure: which protocol and version, which category,
// the byte offset in the datagram where it was found and why.
type Error struct {
	Protocol Protocol
	Version  uint32
	Offset   int
	Category error // ErrVersion, ErrTruncated or ErrMalformed
	Reason   string
}

func (e *Error) Error() string {
	return e.Protocol.String() + " v" + strconv.FormatUint(uint64(e.Version), 10) +
		": " + e.Category.Error() + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap exposes the category, so errors.Is works on it.
func (e *Error) Unwrap() error { return e.Category }

func nfErr(v uint16, off int, cat error, reason string) error {
	return &Error{Protocol: ProtoNetFlow, Version: uint32(v), Offset: off, Category: cat, Reason: reason}
}

func sfErr(v uint32, off int, cat error, reason string) error {
	return &Error{Protocol: ProtoSFlow, Version: v, Offset: off, Category: cat, Reason: reason}
}
