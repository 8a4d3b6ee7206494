//go:build linux

package capturetest

import (
	"errors"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	harness "github.com/visorng/visor/agent/capture/capturetest"
)

// nextWithin calls Next once and fails the test if it blocks longer than
// limit: a live source must never hang its caller.
func nextWithin(t *testing.T, src capture.Source, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	var f capture.Frame
	go func() { done <- src.Next(&f) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Next blocked for more than %v", limit)
		return nil
	}
}

// drainFor reads for d and returns how many frames arrived and the errors
// seen (other than timeouts and interface-down).
func drainFor(t *testing.T, src capture.Source, d time.Duration) (frames int, down int, errs []error) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		err := nextWithin(t, src, 2*time.Second)
		switch {
		case err == nil:
			frames++
		case errors.Is(err, capture.ErrTimeout):
		case errors.Is(err, capture.ErrInterfaceDown):
			down++
		default:
			return frames, down, append(errs, err)
		}
	}
	return frames, down, errs
}

// TestInterfaceDownUpDelete takes each path's interface down, brings it
// back, expects frames to flow again, then deletes it and expects
// ErrInterfaceGone, never a hang.
func TestInterfaceDownUpDelete(t *testing.T) {
	const n = 100
	for _, p := range paths() {
		if !p.deep {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			v := newPair(t, vethConfig())
			src := openIn(t, &v.Capture, p)
			inj := harness.OpenInjector(t, &v.Peer)
			frames, _ := buildMix(n, v.Peer.MAC, v.Capture.MAC)
			sendAll(t, inj, frames)
			if got, _, errs := drainFor(t, src, 500*time.Millisecond); got != n || len(errs) != 0 {
				t.Fatalf("before down: %d frames, errors %v", got, errs)
			}

			if err := v.Capture.SetUp(false); err != nil {
				t.Fatal(err)
			}
			_, down, errs := drainFor(t, src, 300*time.Millisecond)
			if len(errs) != 0 {
				t.Fatalf("while down: %v", errs)
			}
			t.Logf("while down: %d ErrInterfaceDown", down)
			if err := v.Capture.SetUp(true); err != nil {
				t.Fatal(err)
			}
			// The peer's carrier returns with the capture end.
			time.Sleep(100 * time.Millisecond)
			sendAll(t, inj, frames)
			if got, _, errs := drainFor(t, src, 700*time.Millisecond); got != n || len(errs) != 0 {
				t.Fatalf("after up: %d frames, want %d; errors %v", got, n, errs)
			}

			if err := v.Capture.Delete(); err != nil {
				t.Fatal(err)
			}
			_, _, errs = drainFor(t, src, 3*time.Second)
			if len(errs) == 0 || !errors.Is(errs[0], capture.ErrInterfaceGone) {
				t.Fatalf("after delete: errors %v, want ErrInterfaceGone", errs)
			}
			if err := nextWithin(t, src, 2*time.Second); !errors.Is(err, capture.ErrInterfaceGone) {
				t.Fatalf("Next after gone = %v, want ErrInterfaceGone again", err)
			}
			t.Logf("after delete: %v", errs[0])
		})
	}
}
