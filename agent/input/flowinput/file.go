package flowinput

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/decode"
)

// FileStats describes a capture read by ReadSource.
type FileStats struct {
	Frames      uint64 // frames in the capture
	NotUDP      uint64 // frames that were not UDP (skipped)
	First, Last time.Time
}

// ReadSource feeds every UDP payload of a capture to the decoder, in file
// order; the sender is the packet's IP source (pktvisor's file mode).
// onFirst, when not nil, is called with the first frame's timestamp before
// anything is dispatched, so recorded-stream handlers can start their
// buckets there. It stops at the end of the source, on ctx cancel, or when
// the capture is corrupt (after dispatching everything before the fault).
func (in *Input) ReadSource(ctx context.Context, src capture.Source, onFirst func(time.Time)) (FileStats, error) {
	var st FileStats
	w := in.NewWorker()
	var f capture.Frame
	var p decode.Packet
	for {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if err := src.Next(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return st, nil
			}
			return st, fmt.Errorf("flow input: %w", err)
		}
		st.Frames++
		if st.First.IsZero() {
			st.First = f.Timestamp
			if onFirst != nil {
				onFirst(f.Timestamp)
			}
		}
		st.Last = f.Timestamp
		if decode.Decode(f.LinkType, f.Data, &p) != nil || p.L4 != decode.L4UDP || p.Fragment {
			st.NotUDP++
			continue
		}
		_ = in.Process(w, p.Src.Unmap(), f.Timestamp, p.Payload)
	}
}
