// Package agent wires inputs, handlers and policies together. Its module
// table is the one place that lists every handler type the agent knows.
package agent

import (
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/dnshandler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/handler/pcaphandler"
)

// Handlers returns the table of built-in handler modules.
func Handlers() *handler.Registry {
	return handler.NewRegistry(map[handler.Key]handler.Factory{
		{Type: "dns", Version: "1.0"}:  dnshandler.NewV1,
		{Type: "dns", Version: "2.0"}:  dnshandler.NewV2,
		{Type: "net", Version: "1.0"}:  nethandler.NewV1,
		{Type: "net", Version: "2.0"}:  nethandler.NewV2,
		{Type: "pcap", Version: "1.0"}: pcaphandler.New,
	})
}

// ReaderHandlers lists the handler types pktvisor-reader attaches for an
// input type, as pktvisor's reader does (net always; dns and dhcp for
// packet captures; dns for dnstap). Types not built yet are left out.
func ReaderHandlers(inputType string) []string {
	switch inputType {
	case "pcap", "dnstap":
		return []string{"net", "dns"}
	}
	return []string{"net"}
}
