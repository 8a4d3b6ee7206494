//go:build !linux

package bpf

// The kernel programs need Linux; elsewhere the package still builds so the
// agent and its tests compile, and loading returns ErrNotSupported.
const supported = false
