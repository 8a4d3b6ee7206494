//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

func run(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
	return errors.New("bench-capture needs Linux (network namespaces, XDP, tc)")
}
