package dns

import (
	"testing"
)

// TestParseAllocs is the allocation budget of the hot path: zero, for good
// and bad input alike.
func TestParseAllocs(t *testing.T) {
	inputs := map[string][]byte{
		"query":         queryMsg(t),
		"response":      responseMsg(t),
		"ecs query":     ecsQueryMsg(t),
		"truncated":     responseMsg(t)[:40],
		"pointer loop":  cat(header(1, 0, 0, 0), []byte{0xC0, 14, 0xC0, 12}, typeA),
		"long name":     cat(header(1, 0, 0, 0), label(63, 'a'), label(63, 'b'), label(63, 'c'), label(62, 'd'), []byte{0}, typeA),
		"bad ecs":       cat(header(0, 0, 0, 1), []byte{0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 4, 0, 3, 24, 0}),
		"escaped qname": cat(header(1, 0, 0, 0), label(63, 0xFF), []byte{0}, typeA),
	}
	var m Message
	for name, msg := range inputs {
		if n := testing.AllocsPerRun(200, func() { _ = Parse(msg, &m) }); n != 0 {
			t.Errorf("%s: %v allocs per Parse", name, n)
		}
	}
}
