package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/visorng/visor/agent"
	"github.com/visorng/visor/agent/capture/pcapfile"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/flowinput"
	"github.com/visorng/visor/decode/flow"
)

// runFlow reads sFlow or NetFlow/IPFIX datagrams from a capture (pktvisor's
// flow input with pcap_file) and summarises them. Handlers that consume
// flows get every datagram's records; net is attached as pktvisor does and
// sees no packets unless it consumes flows.
func runFlow(ctx context.Context, o options, env handler.Env, stdout io.Writer, log *slog.Logger) error {
	typ, err := flowinput.ParseType(o.input)
	if err != nil {
		return err
	}
	src, err := pcapfile.Open(o.file)
	if err != nil {
		return err
	}
	defer src.Close()
	in := flowinput.New(typ, nil)
	reg := agent.Handlers()
	cfg := handler.Config{
		"recorded_stream":  true,
		"num_periods":      uint64(o.periods),
		"deep_sample_rate": uint64(o.deep),
	}
	var handlers []handler.Handler
	clock := &eventClock{}
	in.Attach(clock) // first: rotates buckets before records are accounted
	for _, typ := range agent.ReaderHandlers(o.input) {
		h, err := reg.New(typ, "1.0", "reader-"+typ, cfg, env)
		if err != nil {
			return fmt.Errorf("handler %s: %w", typ, err)
		}
		if fc, ok := h.(handler.FlowConsumer); ok {
			in.Attach(fc)
		}
		if t, ok := h.(handler.Ticker); ok {
			clock.tickers = append(clock.tickers, t)
		}
		handlers = append(handlers, h)
	}
	start := func(ts time.Time) {
		clock.next = ts.Add(time.Second)
		for _, h := range handlers {
			if b, ok := h.(handler.Bounded); ok {
				b.StartAt(ts)
			}
		}
	}
	log.Debug("reading", "file", o.file, "input", o.input, "periods", o.periods)
	fs, err := in.ReadSource(ctx, src, start)
	st := in.Stats()
	log.Debug("done", "frames", fs.Frames, "datagrams", st.Datagrams, "records", st.Records,
		"packet_errors", st.DecodeErrors, "unknown_template_sets", st.UnknownSets)
	if err != nil {
		return err
	}
	if st.DecodeErrors > 0 {
		log.Warn("flow datagrams failed to decode", "file", o.file, "packet_errors", st.DecodeErrors)
	}
	for _, h := range handlers {
		if b, ok := h.(handler.Bounded); ok && !fs.Last.IsZero() {
			b.EndAt(fs.Last)
		}
	}
	out, err := summary(handlers, o.periods)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(out)
}

// eventClock ticks handlers on datagram time, once per second of it, so
// multi-period windows rotate as they do for packet captures.
type eventClock struct {
	tickers []handler.Ticker
	next    time.Time
}

func (c *eventClock) HandleFlows(_ netip.Addr, ts time.Time, _ []flow.Record) {
	if c.next.IsZero() || ts.Before(c.next) {
		return
	}
	c.next = ts.Add(time.Second)
	for _, t := range c.tickers {
		t.Tick(ts)
	}
}
