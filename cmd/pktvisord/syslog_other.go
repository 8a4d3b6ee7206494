//go:build windows || plan9

package main

import (
	"errors"
	"io"
)

func openSyslog() (io.WriteCloser, error) {
	return nil, errors.New("--syslog is not supported on this platform")
}
