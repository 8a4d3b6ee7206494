//go:build linux

package flowinput

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

type rawConn = syscall.RawConn

const reusePortSupported = true

func setSockopts(c syscall.RawConn, rcvbuf int, reuse bool) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if reuse {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
		}
		if rcvbuf > 0 {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); serr != nil {
					return
				}
			}
		}
		// Ask for the socket's drop counter with every datagram.
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// rxqOverflow finds the SO_RXQ_OVFL control message (the socket's
// cumulative count of datagrams dropped for a full receive queue) without
// allocating.
func rxqOverflow(oob []byte) (uint32, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafePointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= unix.CmsgLen(4) {
			return binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]), true
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return 0, false
}
