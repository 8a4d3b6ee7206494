//go:build linux

package bpf

const supported = true
