package testutil

import "testing"

func TestParseRelease(t *testing.T) {
	for _, tc := range []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"6.18.44-fc-v595", 6, 18, true},
		{"5.15.0-91-generic", 5, 15, true},
		{"6.1", 6, 1, true},
		{"6.10rc1", 6, 10, true},
		{"garbage", 0, 0, false},
		{"x.1", 0, 0, false},
	} {
		maj, min, err := parseRelease(tc.in)
		if (err == nil) != tc.ok || maj != tc.major || min != tc.minor {
			t.Errorf("parseRelease(%q) = %d, %d, %v", tc.in, maj, min, err)
		}
	}
}
