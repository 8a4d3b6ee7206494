package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/dnstap"
)

// runDnstap summarises a Frame Streams dnstap file (-i dnstap) with the
// handlers pktvisor's reader attaches to a dnstap input.
func runDnstap(ctx context.Context, o options, env handler.Env, stdout io.Writer, log *slog.Logger) error {
	in, err := dnstap.New(dnstap.Options{File: o.file})
	if err != nil {
		return err
	}
	reg := agent.Handlers()
	cfg := handler.Config{
		"recorded_stream":  true,
		"num_periods":      uint64(o.periods),
		"deep_sample_rate": uint64(o.deep),
	}
	var handlers []handler.Handler
	for _, typ := range agent.ReaderHandlers(o.input) {
		h, err := reg.New(typ, "1.0", "reader-"+typ, cfg, env)
		if err != nil {
			return fmt.Errorf("handler %s: %w", typ, err)
		}
		in.Attach(h)
		handlers = append(handlers, h)
	}
	log.Debug("reading", "file", o.file, "input", o.input, "periods", o.periods)
	if err := in.Run(ctx); err != nil {
		return err
	}
	c := &in.Counters
	log.Debug("done", "frames", c.Frames.Load(), "messages", c.Messages.Load(), "decode_errors", c.DecodeErrors.Load(),
		"protocol_errors", c.ProtocolErrors.Load(), "skipped", c.Skipped.Load())
	if c.ProtocolErrors.Load() > 0 {
		log.Warn("dnstap file ended inside a frame or broke the Frame Streams protocol; frames before it were read", "file", o.file)
	}
	out, err := summary(handlers, o.periods)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(out)
}
