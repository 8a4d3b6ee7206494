// Package agent wires inputs, handlers and policies together. Its module
// table is the one place that lists every handler type the agent knows.
package agent

import (
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/bgphandler"
	"github.com/visorng/visor/agent/handler/dhcphandler"
	"github.com/visorng/visor/agent/handler/dnshandler"
	"github.com/visorng/visor/agent/handler/flowhandler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/handler/netprobehandler"
	"github.com/visorng/visor/agent/handler/pcaphandler"
	"github.com/visorng/visor/agent/handler/resourceshandler"
)

// Handlers returns the table of built-in handler modules.
func Handlers() *handler.Registry {
	return handler.NewRegistry(map[handler.Key]handler.Factory{
		{Type: "dns", Version: "1.0"}:  dnshandler.NewV1,
		{Type: "dns", Version: "2.0"}:  dnshandler.NewV2,
		{Type: "net", Version: "1.0"}:  nethandler.NewV1,
		{Type: "net", Version: "2.0"}:  nethandler.NewV2,
		{Type: "pcap", Version: "1.0"}: pcaphandler.New,

		{Type: "bgp", Version: "1.0"}:             bgphandler.New,
		{Type: "dhcp", Version: "1.0"}:            dhcphandler.New,
		{Type: "flow", Version: "1.0"}:            flowhandler.New,
		{Type: "netprobe", Version: "1.0"}:        netprobehandler.New,
		{Type: "input_resources", Version: "1.0"}: resourceshandler.New,
	})
}

// ReaderHandlers lists the handler types pktvisor-reader attaches for an
// input type, as pktvisor's reader does (net always; dns and dhcp for
// packet captures; dns for dnstap). Types not built yet are left out.
func ReaderHandlers(inputType string) []string {
	switch inputType {
	case "pcap":
		return []string{"net", "dns", "dhcp"}
	case "dnstap":
		return []string{"net", "dns"}
	case "sflow", "netflow":
		return []string{"net", "flow"}
	}
	return []string{"net"}
}
