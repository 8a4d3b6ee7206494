package capturetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// Got is a frame a source delivered, copied out of the source's buffer.
type Got struct {
	Data     []byte
	Dir      decode.Direction
	LinkType decode.LinkType
	OrigLen  int
	Time     time.Time
}

// Collect reads frames until want have arrived, then keeps reading for
// linger to catch extra frames, or until timeout passes. Errors other than
// capture.ErrTimeout end the collection and are returned with the frames.
func Collect(src capture.Source, want int, linger, timeout time.Duration) ([]Got, error) {
	var out []Got
	deadline := time.Now().Add(timeout)
	var f capture.Frame
	lingering := false
	for time.Now().Before(deadline) {
		if len(out) >= want && !lingering {
			lingering = true
			if end := time.Now().Add(linger); end.Before(deadline) {
				deadline = end
			}
		}
		err := src.Next(&f)
		if errors.Is(err, capture.ErrTimeout) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, Got{Data: slices.Clone(f.Data), Dir: f.Dir, LinkType: f.LinkType, OrigLen: f.OrigLen, Time: f.Timestamp})
		if f.CapLen != len(f.Data) {
			return out, fmt.Errorf("frame %d: CapLen %d != len(Data) %d", len(out), f.CapLen, len(f.Data))
		}
	}
	return out, nil
}

// Result is the outcome of matching delivered frames against sent ones.
type Result struct {
	Matched    map[Kind]int
	Missing    map[Kind]int
	Unexpected [][]byte // delivered but never sent (or delivered twice)
	Dir        map[Kind]map[decode.Direction]int
}

// Match pairs delivered frames with sent frames byte for byte. view turns a
// delivered frame into the bytes of the sent frame it should equal (identity
// for Ethernet sources; nil means "cannot be one of ours").
func Match(sent []TestFrame, got []Got, view func(Got) []byte) Result {
	r := Result{Matched: map[Kind]int{}, Missing: map[Kind]int{}, Dir: map[Kind]map[decode.Direction]int{}}
	pending := make(map[string]Kind, len(sent))
	for _, s := range sent {
		pending[string(s.Data)] = s.Kind
	}
	for _, g := range got {
		b := view(g)
		k, ok := pending[string(b)]
		if b == nil || !ok {
			r.Unexpected = append(r.Unexpected, g.Data)
			continue
		}
		delete(pending, string(b))
		r.Matched[k]++
		if r.Dir[k] == nil {
			r.Dir[k] = map[decode.Direction]int{}
		}
		r.Dir[k][g.Dir]++
	}
	for _, k := range pending {
		r.Missing[k]++
	}
	return r
}

// Identity is the Match view for sources that deliver the frame as sent.
func Identity(g Got) []byte { return g.Data }

// FromSLL is the Match view for Linux cooked frames: the sent Ethernet frame
// is the cooked frame's address (the source MAC) and everything after its
// protocol field, behind a destination MAC the cooked header does not keep,
// so the caller passes it in.
func FromSLL(dst []byte) func(Got) []byte {
	return func(g Got) []byte {
		if g.LinkType != decode.LinkLinuxSLL || len(g.Data) < 16 {
			return nil
		}
		out := make([]byte, 0, len(g.Data)-2)
		out = append(out, dst...)
		out = append(out, g.Data[6:12]...)
		return append(out, g.Data[14:]...)
	}
}
