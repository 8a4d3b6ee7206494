package dnstap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame Streams control frame types and the content-type field.
const (
	ctrlAccept = 1
	ctrlStart  = 2
	ctrlStop   = 3
	ctrlReady  = 4
	ctrlFinish = 5

	fieldContentType = 1
)

// ContentType is the only content type the input accepts.
const ContentType = "protobuf:dnstap.Dnstap"

// Limits of fstrm's defaults, which pktvisor uses.
const (
	MaxControlFrame = 512
	MaxDataFrame    = 1 << 20
)

var (
	// ErrProtocol is wrapped by every Frame Streams protocol violation.
	ErrProtocol = errors.New("frame streams protocol error")
	// ErrContentType reports a peer offering no acceptable content type.
	ErrContentType = fmt.Errorf("%w: content type mismatch", ErrProtocol)
	// ErrTruncated reports a stream that ended inside a frame.
	ErrTruncated = errors.New("frame streams: truncated frame")
)

func protoErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+fmt.Sprintf(format, a...), ErrProtocol)
}

// control is a decoded control frame.
type control struct {
	typ          uint32
	contentTypes [][]byte
}

func (c *control) offers(ct string) bool {
	if len(c.contentTypes) == 0 {
		return true // no content type: the peer does not negotiate
	}
	for _, t := range c.contentTypes {
		if string(t) == ct {
			return true
		}
	}
	return false
}

// parseControl decodes a control frame payload (after its length).
func parseControl(b []byte) (control, error) {
	var c control
	if len(b) < 4 {
		return c, protoErr("control frame of %d bytes", len(b))
	}
	c.typ = binary.BigEndian.Uint32(b)
	b = b[4:]
	for len(b) > 0 {
		if len(b) < 8 {
			return c, protoErr("truncated control field")
		}
		ft, fl := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
		b = b[8:]
		if uint64(fl) > uint64(len(b)) {
			return c, protoErr("control field length %d beyond frame", fl)
		}
		if ft == fieldContentType {
			c.contentTypes = append(c.contentTypes, b[:fl])
		}
		b = b[fl:]
	}
	return c, nil
}

// appendControl encodes a control frame (escape, length, payload).
func appendControl(dst []byte, typ uint32, contentType string) []byte {
	n := 4
	if contentType != "" {
		n += 8 + len(contentType)
	}
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, typ)
	if contentType != "" {
		dst = binary.BigEndian.AppendUint32(dst, fieldContentType)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(contentType)))
		dst = append(dst, contentType...)
	}
	return dst
}

// Reader reads dnstap data frames from one Frame Streams session. With a
// writer it speaks the bidirectional handshake (READY → ACCEPT → START, and
// FINISH after STOP); a peer that starts with START is taken as
// unidirectional, on the same connection.
type Reader struct {
	r       *bufio.Reader
	w       io.Writer // nil for files
	buf     []byte
	started bool
	stopped bool
}

// NewReader reads from r; w (the same connection) receives handshake
// replies and may be nil for files.
func NewReader(r io.Reader, w io.Writer) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), w: w}
}

// readFull reads exactly len(b) bytes; ending on a frame boundary (no byte
// read) is io.EOF, anywhere else ErrTruncated.
func (fr *Reader) readFull(b []byte, atBoundary bool) error {
	n, err := io.ReadFull(fr.r, b)
	switch {
	case err == nil:
		return nil
	case n == 0 && atBoundary && errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTruncated
	}
	return err
}

func (fr *Reader) u32(atBoundary bool) (uint32, error) {
	var b [4]byte
	if err := fr.readFull(b[:], atBoundary); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

func (fr *Reader) readControl() (control, error) {
	n, err := fr.u32(false)
	if err != nil {
		return control{}, err
	}
	if n > MaxControlFrame {
		return control{}, protoErr("control frame of %d bytes exceeds %d", n, MaxControlFrame)
	}
	b := make([]byte, n)
	if err := fr.readFull(b, false); err != nil {
		return control{}, err
	}
	return parseControl(b)
}

func (fr *Reader) reply(typ uint32, ct string) error {
	if fr.w == nil {
		return nil
	}
	if _, err := fr.w.Write(appendControl(nil, typ, ct)); err != nil {
		return fmt.Errorf("frame streams: write control frame: %w", err)
	}
	return nil
}

// Next returns the next data frame; the slice is valid until the next
// call. It returns io.EOF after STOP or at the end of a stream that ends on
// a frame boundary, ErrTruncated inside a frame, and an ErrProtocol error
// for violations (the caller closes the session).
func (fr *Reader) Next() ([]byte, error) {
	for {
		if fr.stopped {
			return nil, io.EOF
		}
		n, err := fr.u32(true)
		if err != nil {
			return nil, err
		}
		if n != 0 {
			if !fr.started {
				return nil, protoErr("data frame before START")
			}
			if n > MaxDataFrame {
				return nil, protoErr("data frame of %d bytes exceeds %d", n, MaxDataFrame)
			}
			if cap(fr.buf) < int(n) {
				fr.buf = make([]byte, n)
			}
			b := fr.buf[:n]
			if err := fr.readFull(b, false); err != nil {
				return nil, err
			}
			return b, nil
		}
		c, err := fr.readControl()
		if err != nil {
			return nil, err
		}
		switch c.typ {
		case ctrlReady:
			if fr.started {
				return nil, protoErr("READY after START")
			}
			if !c.offers(ContentType) {
				return nil, ErrContentType
			}
			if err := fr.reply(ctrlAccept, ContentType); err != nil {
				return nil, err
			}
		case ctrlStart:
			if fr.started {
				return nil, protoErr("second START")
			}
			if !c.offers(ContentType) {
				return nil, ErrContentType
			}
			fr.started = true
		case ctrlStop:
			fr.stopped = true
			if err := fr.reply(ctrlFinish, ""); err != nil {
				return nil, err
			}
			return nil, io.EOF
		default:
			return nil, protoErr("unexpected control frame type %d", c.typ)
		}
	}
}
