//go:build linux && !libpcap

package capturetest

func tagPaths() []path { return nil }
