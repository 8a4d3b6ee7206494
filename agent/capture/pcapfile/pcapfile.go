// Package pcapfile reads classic pcap and pcapng capture files as a
// capture.Source, so the offline reader runs the same pipeline as live
// capture.
//
// The parser is our own rather than gopacket/pcapgo: it tracks the byte
// offset of every record (corrupt files are reported by position), bounds
// every length before trusting it, and hands out frames that alias one
// internal buffer, so the per-packet path does not allocate.
package pcapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// MaxCapLen bounds the captured length of one record (libpcap's largest
// snaplen). A larger length means a corrupt file, not a reason to allocate.
const MaxCapLen = 262144

// maxBlockLen bounds a pcapng block we buffer whole; packet blocks are far
// smaller, other blocks (name resolution, custom) larger than this are skipped
// by streaming.
const maxBlockLen = 1 << 20

// ErrUnsupportedLinkType is returned by Open and NewReader (and by Next when a
// later pcapng interface introduces one) for link types the decoder cannot
// handle.
var ErrUnsupportedLinkType = errors.New("unsupported link type")

// ErrCorrupt is wrapped by every error describing a malformed file.
var ErrCorrupt = errors.New("corrupt capture file")

const (
	magicMicro   = 0xa1b2c3d4
	magicNano    = 0xa1b23c4d
	magicNgBlock = 0x0a0d0d0a
	ngByteOrder  = 0x1a2b3c4d

	blockIDB = 1
	blockOPB = 2 // obsolete packet block
	blockSPB = 3
	blockEPB = 6

	classicHeaderLen = 24
	classicRecordLen = 16
)

type format uint8

const (
	formatClassic format = iota
	formatNg
)

// ngIface is what a pcapng Interface Description Block tells us.
type ngIface struct {
	link     decode.LinkType
	snaplen  uint32
	unitsSec uint64 // timestamp units per second (if_tsresol)
	offset   int64  // seconds added to every timestamp (if_tsoffset)
}

// Reader is a capture.Source over a pcap or pcapng stream. It is not safe for
// concurrent use.
type Reader struct {
	src    io.Reader
	closer io.Closer
	name   string

	// buf[start:end] holds bytes read but not consumed; pos is the file
	// offset of buf[start].
	buf        []byte
	start, end int
	pos        int64
	eof        bool
	pending    int // length of the block nextBlock returned

	format format
	order  binary.ByteOrder

	// classic pcap
	link    decode.LinkType
	snaplen uint32
	nano    bool

	// pcapng
	ifaces []ngIface

	stats capture.Stats
	err   error // sticky: once corrupt, always corrupt
}

var _ capture.Source = (*Reader)(nil)

// Open opens a capture file, detecting classic pcap (µs or ns, either byte
// order) or pcapng from its first bytes.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	r, err := newReader(f, filepath.Base(path))
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a capture from r; name is used in error messages. Close
// does not close r.
func NewReader(r io.Reader, name string) (*Reader, error) {
	return newReader(r, name)
}

func newReader(src io.Reader, name string) (*Reader, error) {
	r := &Reader{
		src:   src,
		name:  name,
		buf:   make([]byte, 256<<10),
		stats: capture.Stats{Path: "pcap_file"},
	}
	if err := r.fill(4); err != nil {
		return nil, r.errorf(0, "file header", err)
	}
	b := r.buf[r.start:]
	switch {
	case binary.LittleEndian.Uint32(b) == magicNgBlock:
		r.format = formatNg
		if err := r.openNg(); err != nil {
			return nil, err
		}
	default:
		if err := r.openClassic(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Reader) openClassic() error {
	if err := r.fill(classicHeaderLen); err != nil {
		return r.errorf(0, "file header", err)
	}
	h := r.buf[r.start : r.start+classicHeaderLen]
	switch {
	case binary.LittleEndian.Uint32(h) == magicMicro:
		r.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h) == magicMicro:
		r.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h) == magicNano:
		r.order, r.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h) == magicNano:
		r.order, r.nano = binary.BigEndian, true
	default:
		return r.errorf(0, "file header", fmt.Errorf("%w: unknown magic %#08x", ErrCorrupt, binary.BigEndian.Uint32(h)))
	}
	r.snaplen = r.order.Uint32(h[16:])
	// The upper 16 bits of the link-type field carry FCS flags (pcap
	// LINKTYPE_... plus "F" bits); only the low 16 name the link.
	lt := r.order.Uint32(h[20:]) & 0xffff
	link, err := mapLink(lt)
	if err != nil {
		return r.errorf(0, "file header", err)
	}
	r.link = link
	r.consume(classicHeaderLen)
	return nil
}

// openNg reads the Section Header Block and blocks up to the first Interface
// Description Block, so an unsupported link type fails at Open.
func (r *Reader) openNg() error {
	for len(r.ifaces) == 0 {
		off := r.pos
		blockType, body, err := r.nextBlock()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return r.errorf(off, "pcapng", fmt.Errorf("%w: no interface description block", ErrCorrupt))
			}
			return err
		}
		switch blockType {
		case blockIDB:
			if err := r.addIface(off, body); err != nil {
				return err
			}
		case blockEPB, blockSPB, blockOPB:
			return r.errorf(off, "block", fmt.Errorf("%w: packet block before any interface description", ErrCorrupt))
		}
		r.consumeBlock()
	}
	return nil
}

// mapLink maps a pcap LINKTYPE_ value to the decoder's link types.
func mapLink(lt uint32) (decode.LinkType, error) {
	switch l := decode.LinkType(lt); l {
	case decode.LinkEthernet, decode.LinkRaw, decode.LinkLinuxSLL, decode.LinkLinuxSLL2,
		decode.LinkIPv4, decode.LinkIPv6, decode.LinkNull:
		return l, nil
	}
	return 0, fmt.Errorf("%w %d", ErrUnsupportedLinkType, lt)
}

// Next fills f with the next frame. f.Data aliases the reader's buffer and is
// valid until the next call to Next or Close.
func (r *Reader) Next(f *capture.Frame) error {
	if r.err != nil {
		return r.err
	}
	var err error
	if r.format == formatClassic {
		err = r.nextClassic(f)
	} else {
		err = r.nextNg(f)
	}
	if err != nil {
		r.err = err
		return err
	}
	f.Dir = decode.DirUnknown
	f.CapLen = len(f.Data)
	r.stats.Received++
	r.stats.Bytes += uint64(f.OrigLen)
	return nil
}

func (r *Reader) nextClassic(f *capture.Frame) error {
	off := r.pos
	if err := r.fill(classicRecordLen); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.errorf(off, "truncated header", err)
	}
	h := r.buf[r.start : r.start+classicRecordLen]
	sec := r.order.Uint32(h[0:])
	frac := r.order.Uint32(h[4:])
	capLen := r.order.Uint32(h[8:])
	origLen := r.order.Uint32(h[12:])
	if capLen > MaxCapLen {
		return r.errorf(off, "bad record", fmt.Errorf("%w: captured length %d exceeds %d", ErrCorrupt, capLen, MaxCapLen))
	}
	limit := uint32(1e6)
	if r.nano {
		limit = 1e9
	}
	if frac >= limit {
		return r.errorf(off, "bad record", fmt.Errorf("%w: sub-second timestamp %d out of range", ErrCorrupt, frac))
	}
	n := classicRecordLen + int(capLen)
	if err := r.fill(n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return r.errorf(off, "truncated data", err)
	}
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	f.Timestamp = time.Unix(int64(sec), ns)
	f.Data = r.buf[r.start+classicRecordLen : r.start+n : r.start+n]
	f.OrigLen = int(origLen)
	f.LinkType = r.link
	r.consume(n)
	return nil
}

func (r *Reader) nextNg(f *capture.Frame) error {
	for {
		off := r.pos
		blockType, body, err := r.nextBlock()
		if err != nil {
			return err
		}
		switch blockType {
		case magicNgBlock:
			// A new section: interfaces are numbered afresh.
			r.ifaces = r.ifaces[:0]
		case blockIDB:
			if err := r.addIface(off, body); err != nil {
				return err
			}
		case blockEPB, blockOPB:
			return r.packetBlock(f, off, blockType, body)
		case blockSPB:
			if len(r.ifaces) == 0 {
				return r.errorf(off, "bad block", fmt.Errorf("%w: simple packet block without interface", ErrCorrupt))
			}
			if len(body) < 4 {
				return r.errorf(off, "bad block", fmt.Errorf("%w: short simple packet block", ErrCorrupt))
			}
			ifc := &r.ifaces[0]
			orig := r.order.Uint32(body)
			capLen := uint32(len(body) - 4)
			capLen = min(capLen, orig)
			if ifc.snaplen != 0 {
				capLen = min(capLen, ifc.snaplen)
			}
			if capLen > MaxCapLen {
				return r.errorf(off, "bad block", fmt.Errorf("%w: captured length %d exceeds %d", ErrCorrupt, capLen, MaxCapLen))
			}
			// A simple packet block has no timestamp.
			f.Timestamp = time.Time{}
			f.Data = body[4 : 4+capLen : 4+capLen]
			f.OrigLen = int(orig)
			f.LinkType = ifc.link
			r.consumeBlock()
			return nil
		}
		r.consumeBlock()
	}
}

func (r *Reader) packetBlock(f *capture.Frame, off int64, blockType uint32, body []byte) error {
	if len(body) < 20 {
		return r.errorf(off, "bad block", fmt.Errorf("%w: short packet block", ErrCorrupt))
	}
	var ifIndex uint32
	if blockType == blockEPB {
		ifIndex = r.order.Uint32(body)
	} else {
		ifIndex = uint32(r.order.Uint16(body))
	}
	if ifIndex >= uint32(len(r.ifaces)) {
		return r.errorf(off, "bad block", fmt.Errorf("%w: interface %d not described", ErrCorrupt, ifIndex))
	}
	ifc := &r.ifaces[ifIndex]
	ts := uint64(r.order.Uint32(body[4:]))<<32 | uint64(r.order.Uint32(body[8:]))
	capLen := r.order.Uint32(body[12:])
	orig := r.order.Uint32(body[16:])
	if capLen > MaxCapLen || uint64(capLen) > uint64(len(body)-20) {
		return r.errorf(off, "bad block", fmt.Errorf("%w: captured length %d exceeds block or %d", ErrCorrupt, capLen, MaxCapLen))
	}
	sec, rem := bits.Div64(0, ts, ifc.unitsSec)
	hi, lo := bits.Mul64(rem, 1e9)
	ns, _ := bits.Div64(hi, lo, ifc.unitsSec)
	f.Timestamp = time.Unix(int64(sec)+ifc.offset, int64(ns))
	f.Data = body[20 : 20+capLen : 20+capLen]
	f.OrigLen = int(orig)
	f.LinkType = ifc.link
	r.consumeBlock()
	return nil
}

func (r *Reader) addIface(off int64, body []byte) error {
	if len(body) < 8 {
		return r.errorf(off, "bad block", fmt.Errorf("%w: short interface description", ErrCorrupt))
	}
	link, err := mapLink(uint32(r.order.Uint16(body)))
	if err != nil {
		return r.errorf(off, "interface description", err)
	}
	ifc := ngIface{link: link, snaplen: r.order.Uint32(body[4:]), unitsSec: 1e6}
	opts := body[8:]
	for len(opts) >= 4 {
		code := r.order.Uint16(opts)
		l := int(r.order.Uint16(opts[2:]))
		padded := (l + 3) &^ 3
		if 4+padded > len(opts) {
			return r.errorf(off, "bad block", fmt.Errorf("%w: interface option overruns block", ErrCorrupt))
		}
		v := opts[4 : 4+l]
		switch {
		case code == 0: // opt_endofopt
			opts = nil
			continue
		case code == 9 && l == 1: // if_tsresol
			ups, ok := tsResolution(v[0])
			if !ok {
				return r.errorf(off, "bad block", fmt.Errorf("%w: timestamp resolution %#x", ErrCorrupt, v[0]))
			}
			ifc.unitsSec = ups
		case code == 14 && l == 8: // if_tsoffset
			ifc.offset = int64(r.order.Uint64(v))
		}
		opts = opts[4+padded:]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// tsResolution turns an if_tsresol byte into units per second.
func tsResolution(v byte) (uint64, bool) {
	if v&0x80 != 0 {
		e := v & 0x7f
		if e > 63 {
			return 0, false
		}
		return 1 << e, true
	}
	if v > 19 {
		return 0, false
	}
	u := uint64(1)
	for range v {
		u *= 10
	}
	return u, true
}

// nextBlock buffers the next pcapng block and returns its type and body
// (without the 8-byte header and the trailing length). It returns io.EOF at
// a clean end. The block is consumed by consumeBlock.
func (r *Reader) nextBlock() (uint32, []byte, error) {
	off := r.pos
	if err := r.fill(12); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, r.errorf(off, "truncated header", err)
	}
	h := r.buf[r.start:]
	// The block type of a Section Header is a byte-order palindrome; its
	// body starts with the byte-order magic that sets the order for the
	// whole section.
	if binary.LittleEndian.Uint32(h) == magicNgBlock {
		switch {
		case binary.LittleEndian.Uint32(h[8:]) == ngByteOrder:
			r.order = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:]) == ngByteOrder:
			r.order = binary.BigEndian
		default:
			return 0, nil, r.errorf(off, "bad section header", fmt.Errorf("%w: byte-order magic %#08x", ErrCorrupt, binary.BigEndian.Uint32(h[8:])))
		}
	} else if r.order == nil {
		return 0, nil, r.errorf(off, "bad block", fmt.Errorf("%w: no section header", ErrCorrupt))
	}
	blockType := r.order.Uint32(h)
	total := r.order.Uint32(h[4:])
	if total < 12 || total%4 != 0 {
		return 0, nil, r.errorf(off, "bad block", fmt.Errorf("%w: block length %d", ErrCorrupt, total))
	}
	if total > maxBlockLen {
		if blockType == blockEPB || blockType == blockSPB || blockType == blockOPB || blockType == blockIDB || blockType == magicNgBlock {
			return 0, nil, r.errorf(off, "bad block", fmt.Errorf("%w: block length %d exceeds %d", ErrCorrupt, total, maxBlockLen))
		}
		if err := r.skip(int64(total)); err != nil {
			return 0, nil, r.errorf(off, "truncated block", err)
		}
		return r.nextBlock()
	}
	if err := r.fill(int(total)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, r.errorf(off, "truncated block", err)
	}
	b := r.buf[r.start : r.start+int(total)]
	if trail := r.order.Uint32(b[total-4:]); trail != total {
		return 0, nil, r.errorf(off, "bad block", fmt.Errorf("%w: trailing length %d != %d", ErrCorrupt, trail, total))
	}
	r.pending = int(total)
	return blockType, b[8 : total-4], nil
}

// Stats reports frames and wire bytes delivered so far.
func (r *Reader) Stats() capture.Stats { return r.stats }

// Close releases the file opened by Open. Frames delivered earlier become
// invalid.
func (r *Reader) Close() error {
	r.err = errClosed
	r.buf = nil
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		return c.Close()
	}
	return nil
}

var errClosed = errors.New("pcapfile: reader closed")

func (r *Reader) errorf(off int64, what string, err error) error {
	return fmt.Errorf("pcapfile: %s: record at offset %d: %s: %w", r.name, off, what, err)
}

// fill makes at least n unconsumed bytes available in buf. It returns io.EOF
// when the stream ended with no bytes left, io.ErrUnexpectedEOF when it ended
// with fewer than n.
func (r *Reader) fill(n int) error {
	if r.end-r.start >= n {
		return nil
	}
	if n > len(r.buf) {
		nb := make([]byte, max(n, 2*len(r.buf)))
		r.end = copy(nb, r.buf[r.start:r.end])
		r.start = 0
		r.buf = nb
	} else if r.start+n > len(r.buf) {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	for r.end-r.start < n && !r.eof {
		m, err := io.ReadAtLeast(r.src, r.buf[r.end:], n-(r.end-r.start))
		r.end += m
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			r.eof = true
		case err != nil:
			return err
		}
	}
	switch {
	case r.end-r.start >= n:
		return nil
	case r.end == r.start:
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}

func (r *Reader) consume(n int) {
	r.start += n
	r.pos += int64(n)
}

func (r *Reader) consumeBlock() {
	r.consume(r.pending)
	r.pending = 0
}

// skip discards n bytes without buffering them all.
func (r *Reader) skip(n int64) error {
	for n > 0 {
		if r.end == r.start {
			if err := r.fill(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := min(int64(r.end-r.start), n)
		r.consume(int(k))
		n -= k
	}
	return nil
}
