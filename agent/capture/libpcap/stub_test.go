//go:build !libpcap || !cgo

package libpcap

import (
	"errors"
	"testing"
)

func TestStubSaysNotBuilt(t *testing.T) {
	if _, err := Open(Options{Iface: "lo"}); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("err = %v", err)
	}
}
