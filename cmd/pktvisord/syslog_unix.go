//go:build !windows && !plan9

package main

import (
	"fmt"
	"io"
	"log/syslog"
)

func openSyslog() (io.WriteCloser, error) {
	w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "pktvisord")
	if err != nil {
		return nil, fmt.Errorf("connect to syslog: %w", err)
	}
	return w, nil
}
