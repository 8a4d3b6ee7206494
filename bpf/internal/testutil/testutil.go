// Package testutil gates privileged BPF tests: it skips them, with the reason,
// when the process is not root or the running kernel is too old for a
// feature, and fails them when the kernel should have supported it, so that a
// skip can never hide a regression.
package testutil

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// RequireRoot skips the test when the process cannot load BPF programs.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to load BPF programs")
	}
}

// KernelVersion returns the running kernel's major and minor version.
func KernelVersion() (major, minor int, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, 0, fmt.Errorf("uname: %w", err)
	}
	return parseRelease(unix.ByteSliceToString(u.Release[:]))
}

func parseRelease(rel string) (int, int, error) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("kernel release %q: no major.minor", rel)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, fmt.Errorf("kernel release %q: %w", rel, err)
	}
	minorStr := parts[1]
	if i := strings.IndexFunc(minorStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorStr = minorStr[:i]
	}
	minor, err := strconv.Atoi(minorStr)
	if err != nil {
		return 0, 0, fmt.Errorf("kernel release %q: %w", rel, err)
	}
	return major, minor, nil
}

// CheckFeature is called with the error of loading or using a feature that
// first appeared in kernel major.minor. A nil error returns. An
// ebpf.ErrNotSupported on an older kernel skips the test; any other error, or
// a missing feature on a kernel that should have it, fails the test.
func CheckFeature(tb testing.TB, feature string, major, minor int, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	kmaj, kmin, verr := KernelVersion()
	if verr != nil {
		tb.Fatalf("%s: %v (and cannot tell the kernel version: %v)", feature, err, verr)
	}
	older := kmaj < major || (kmaj == major && kmin < minor)
	if older && errors.Is(err, ebpf.ErrNotSupported) {
		tb.Skipf("%s needs kernel %d.%d, running %d.%d: %v", feature, major, minor, kmaj, kmin, err)
	}
	tb.Fatalf("%s on kernel %d.%d: %+v", feature, kmaj, kmin, err)
}
