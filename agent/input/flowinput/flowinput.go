// Package flowinput is the flow input (schema key "flow", also "sflow"): it
// receives sFlow v5, NetFlow v1/v5/v7/v9 and IPFIX datagrams on UDP sockets
// or reads them from a capture file, decodes them with decode/flow and hands
// each datagram's records to the attached handler.FlowConsumers.
//
// Bad input never stops it: every decode error is counted, per exporter and
// per category, and the next datagram is read.
package flowinput

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode/flow"
)

// Type selects the decoder.
type Type uint8

const (
	TypeSFlow   Type = iota
	TypeNetFlow      // NetFlow v1/v5/v7/v9 and IPFIX: one decoder, as in pktvisor
)

func (t Type) String() string {
	if t == TypeNetFlow {
		return "netflow"
	}
	return "sflow"
}

// ParseType parses a flow_type value (compat §1.4). An empty value is sflow,
// pktvisor's default; the caller may warn about it.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "", "sflow":
		return TypeSFlow, nil
	case "netflow", "ipfix":
		return TypeNetFlow, nil
	}
	return 0, fmt.Errorf(`invalid flow_type %q. Supported types: "sflow", "netflow" and "ipfix"`, s)
}

// ErrNoBind is the configuration error of a live flow input without both
// bind and port (pktvisor's text).
var ErrNoBind = errors.New("flow config must specify port and bind")

// MaxExporters bounds the per-exporter counters; datagrams from further
// exporters are counted under the zero address, so a spoofing sender cannot
// grow memory.
const MaxExporters = 1024

// ExporterStats are cumulative counters for one exporter (UDP sender).
type ExporterStats struct {
	Datagrams      uint64
	Records        uint64
	Errors         uint64 // datagrams with a decode error (all categories)
	ErrVersion     uint64
	ErrTruncated   uint64
	ErrMalformed   uint64
	UnknownSets    uint64 // data sets skipped because their template is unknown or expired
	UnknownBytes   uint64
	OptionRecords  uint64
	TemplatesSeen  uint64
	CounterSamples uint64
}

// Stats is a snapshot of the input's counters.
type Stats struct {
	Datagrams    uint64
	Bytes        uint64
	Records      uint64
	DecodeErrors uint64 // pktvisor's packet_errors
	UnknownSets  uint64
	// KernelDrops is the sum over the sockets of the kernel's receive-queue
	// overflow counter (SO_RXQ_OVFL): datagrams lost before we read them.
	KernelDrops uint64
	Exporters   map[netip.Addr]ExporterStats
	Templates   flow.TemplateStats
}

// Input decodes datagrams and dispatches records. Process is safe for
// concurrent use: each caller passes its own Worker.
type Input struct {
	typ       Type
	templates *flow.TemplateCache

	consumers atomic.Pointer[[]handler.FlowConsumer]

	datagrams, bytes, records, errs, unknown atomic.Uint64

	mu        sync.Mutex
	exporters map[netip.Addr]*ExporterStats

	drops func() uint64 // set by Listen
}

// New returns an input of type t. tc may be nil (a private template cache
// with default bounds).
func New(t Type, tc *flow.TemplateCache) *Input {
	if tc == nil {
		tc = flow.NewTemplateCache(0, 0, 0)
	}
	return &Input{typ: t, templates: tc, exporters: make(map[netip.Addr]*ExporterStats)}
}

// Attach adds a consumer; records go to every consumer in attach order.
func (in *Input) Attach(c handler.FlowConsumer) {
	for {
		old := in.consumers.Load()
		var n []handler.FlowConsumer
		if old != nil {
			n = append(n, *old...)
		}
		n = append(n, c)
		if in.consumers.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Worker is one goroutine's decode state: a decoder and the reused record
// slice. Create one per reading goroutine with NewWorker.
type Worker struct {
	dec  *flow.Decoder
	recs []flow.Record
}

// NewWorker returns decode state sharing the input's template cache.
func (in *Input) NewWorker() *Worker {
	return &Worker{dec: flow.NewDecoder(in.templates), recs: make([]flow.Record, 0, 64)}
}

// Process decodes one datagram from sender received at ts and dispatches
// its records. It returns the decode error (already counted) so callers may
// log it; records decoded before an error are still dispatched.
func (in *Input) Process(w *Worker, sender netip.Addr, ts time.Time, data []byte) error {
	var info flow.Info
	var err error
	if in.typ == TypeSFlow {
		w.recs, info, err = w.dec.DecodeSFlow(data, w.recs)
	} else {
		w.recs, info, err = w.dec.DecodeNetFlow(sender, ts, data, w.recs)
	}
	in.datagrams.Add(1)
	in.bytes.Add(uint64(len(data)))
	in.records.Add(uint64(len(w.recs)))
	in.unknown.Add(uint64(info.UnknownSets))
	if err != nil {
		in.errs.Add(1)
	}
	in.count(sender, &info, len(w.recs), err)

	if len(w.recs) > 0 {
		device := sender
		if in.typ == TypeSFlow && info.Device.IsValid() {
			device = info.Device
		}
		if cs := in.consumers.Load(); cs != nil {
			for _, c := range *cs {
				c.HandleFlows(device, ts, w.recs)
			}
		}
	}
	return err
}

func (in *Input) count(sender netip.Addr, info *flow.Info, recs int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.exporters[sender]
	if s == nil {
		if len(in.exporters) >= MaxExporters {
			sender = netip.Addr{}
			s = in.exporters[sender]
		}
		if s == nil {
			s = &ExporterStats{}
			in.exporters[sender] = s
		}
	}
	s.Datagrams++
	s.Records += uint64(recs)
	s.UnknownSets += uint64(info.UnknownSets)
	s.UnknownBytes += uint64(info.UnknownBytes)
	s.OptionRecords += uint64(info.OptionRecords)
	s.TemplatesSeen += uint64(info.Templates + info.OptionTemplates)
	s.CounterSamples += uint64(info.CounterSamples)
	if err != nil {
		s.Errors++
		switch {
		case errors.Is(err, flow.ErrVersion):
			s.ErrVersion++
		case errors.Is(err, flow.ErrTruncated):
			s.ErrTruncated++
		default:
			s.ErrMalformed++
		}
	}
}

// Stats returns a snapshot of the counters.
func (in *Input) Stats() Stats {
	s := Stats{
		Datagrams:    in.datagrams.Load(),
		Bytes:        in.bytes.Load(),
		Records:      in.records.Load(),
		DecodeErrors: in.errs.Load(),
		UnknownSets:  in.unknown.Load(),
		Templates:    in.templates.Stats(),
	}
	in.mu.Lock()
	s.Exporters = make(map[netip.Addr]ExporterStats, len(in.exporters))
	for k, v := range in.exporters {
		s.Exporters[k] = *v
	}
	drops := in.drops
	in.mu.Unlock()
	if drops != nil {
		s.KernelDrops = drops()
	}
	return s
}

// Templates returns the input's template cache.
func (in *Input) Templates() *flow.TemplateCache { return in.templates }
