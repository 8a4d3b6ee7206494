//go:build windows || plan9

package main

import (
	"errors"
	"os"
)

func daemonize([]string) error { return errors.New("-d is not supported on this platform") }

func daemonChild() *os.File { return nil }
