//go:build linux

package flowinput

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafePointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestRXQOverflowParse(t *testing.T) {
	v := binary.NativeEndian.AppendUint32(nil, 1234)
	tests := []struct {
		name string
		oob  []byte
		want uint32
		ok   bool
	}{
		{"alone", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, v), 1234, true},
		{"after another", append(cmsg(unix.SOL_IP, unix.IP_TTL, []byte{1, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, v)...), 1234, true},
		{"none", cmsg(unix.SOL_IP, unix.IP_TTL, []byte{1, 0, 0, 0}), 0, false},
		{"empty", nil, 0, false},
		{"truncated", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, v)[:10], 0, false},
		{"bad length", func() []byte {
			b := cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, v)
			(*unix.Cmsghdr)(unsafePointer(&b[0])).SetLen(1000)
			return b
		}(), 0, false},
	}
	for _, tc := range tests {
		got, ok := rxqOverflow(tc.oob)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %d %v", tc.name, got, ok)
		}
	}
}
