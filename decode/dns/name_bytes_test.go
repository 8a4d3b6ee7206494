package dns

import (
	"bytes"
	"testing"
)

// Every octet value must come out of ParseName exactly as appendEscaped
// renders it, whichever path (inline copy or escape) handles it.
func TestParseNameEveryOctet(t *testing.T) {
	var dst [MaxNamePresentationLen]byte
	for v := 0; v < 256; v++ {
		b := byte(v)
		msg := []byte{3, 'x', b, 'Y', 0}
		got, next, err := ParseName(&dst, msg, 0)
		if err != nil || next != len(msg) {
			t.Fatalf("octet %#x: next %d err %v", b, next, err)
		}
		var want [MaxNamePresentationLen]byte
		n := appendEscaped(&want, 0, 'x')
		n = appendEscaped(&want, n, b)
		n = appendEscaped(&want, n, 'Y')
		if !bytes.Equal(got, want[:n]) {
			t.Errorf("octet %#x: got %q, want %q", b, got, want[:n])
		}
	}
}
