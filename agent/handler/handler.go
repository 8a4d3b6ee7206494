// Package handler defines what a stream handler is to the rest of the agent:
// the events it may consume, how its metrics are read, how it is configured,
// and the explicit table that maps a handler type and version to its
// constructor.
package handler

import (
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
)

// Handler is a configured stream handler instance.
type Handler interface {
	// Name is the instance name, e.g. "default-default-net".
	Name() string
	// Type and Version identify the module ("net", "1.0").
	Type() string
	Version() string
	// Schema is the key of its JSON section and the Prometheus prefix
	// ("packets" for net v1, "dns", ...).
	Schema() string
	// WriteBucket writes bucket p (0 = live) into w.
	WriteBucket(p int, w metrics.Writer) (window.Span, error)
	// WriteWindow writes the merge of the newest p buckets into w.
	WriteWindow(p int, w metrics.Writer) (window.Span, error)
	// Periods is the number of buckets kept.
	Periods() int
	// Emits reports whether the handler produces any output (false when
	// every metric group is disabled).
	Emits() bool
}

// PacketConsumer receives every decoded packet of a packet input. The packet
// and its payload are only valid during the call.
type PacketConsumer interface {
	HandlePacket(p *decode.Packet)
}

// Ticker receives heartbeats so buckets rotate and rates sample without
// traffic.
type Ticker interface {
	Tick(ts time.Time)
}

// Bounded receives the first and last timestamps of a recorded stream: the
// first bucket starts at the first packet and the live bucket is closed at
// the last, as pktvisor does for files.
type Bounded interface {
	StartAt(ts time.Time)
	EndAt(ts time.Time)
}

// CaptureStatsConsumer receives the capture source's cumulative counters
// (the pcap handler turns them into per-bucket drops).
type CaptureStatsConsumer interface {
	CaptureStats(s capture.Stats, ts time.Time)
}

// TCPErrorConsumer is told of packets the TCP reassembler rejected.
type TCPErrorConsumer interface {
	TCPReassemblyError(ts time.Time)
}
