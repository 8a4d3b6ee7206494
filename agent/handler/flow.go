package handler

import (
	"net/netip"
	"time"

	"github.com/visorng/visor/decode/flow"
)

// FlowConsumer receives the records of one flow datagram (sFlow, NetFlow,
// IPFIX). device is the exporter; recs are only valid during the call.
type FlowConsumer interface {
	HandleFlows(device netip.Addr, ts time.Time, recs []flow.Record)
}
