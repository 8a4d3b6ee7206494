//go:build !linux

package flowinput

import "syscall"

type rawConn = syscall.RawConn

// Elsewhere one socket serves the port and kernel drops are not reported.
const reusePortSupported = false

func setSockopts(c syscall.RawConn, rcvbuf int, _ bool) error { return nil }

func rxqOverflow([]byte) (uint32, bool) { return 0, false }
