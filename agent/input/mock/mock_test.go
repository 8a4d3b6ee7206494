package mock

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

type rec struct{ n atomic.Int64 }

func (r *rec) Name() string                                         { return "rec" }
func (r *rec) Type() string                                         { return "rec" }
func (r *rec) Version() string                                      { return "1.0" }
func (r *rec) Schema() string                                       { return "rec" }
func (r *rec) Periods() int                                         { return 1 }
func (r *rec) Emits() bool                                          { return false }
func (r *rec) WriteBucket(int, metrics.Writer) (window.Span, error) { return window.Span{}, nil }
func (r *rec) WriteWindow(int, metrics.Writer) (window.Span, error) { return window.Span{}, nil }
func (r *rec) MockEvent(uint64, time.Time)                          { r.n.Add(1) }

func TestRun(t *testing.T) {
	in, err := New(handler.Config{"anything": "goes"}, Options{Every: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, gone := &rec{}, &rec{}
	in.Attach(r)
	in.Attach(gone)
	in.Detach(gone)
	ctx, cancel := context.WithTimeout(context.Background(), 105*time.Millisecond)
	defer cancel()
	if err := in.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run: %v", err)
	}
	if n := r.n.Load(); n < 5 || uint64(n) != in.Sent() || gone.n.Load() != 0 {
		t.Fatalf("got %d events (sent %d, detached got %d)", n, in.Sent(), gone.n.Load())
	}
}

func TestExceptOnStart(t *testing.T) {
	in, _ := New(handler.Config{"except_on_start": true}, Options{})
	if err := in.Run(context.Background()); err == nil || err.Error() != "mock error on start" {
		t.Fatalf("err %v", err)
	}
}
