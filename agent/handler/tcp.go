package handler

import (
	"net/netip"
	"time"

	"github.com/visorng/visor/decode"
)

// TCPData is one run of in-order bytes of one side of a reassembled TCP
// connection. Src/Dst and the ports are those of the side that sent Data.
type TCPData struct {
	// Conn identifies the connection for the input's lifetime (a new
	// connection on the same 5-tuple gets a new Conn).
	Conn     uint64
	FlowHash uint64 // decode.Packet.FlowHash of the connection's packets
	L3       decode.L3
	Src, Dst netip.Addr
	SrcPort  uint16
	DstPort  uint16
	// Dir is the direction of the packets that carried Data (host_spec).
	Dir decode.Direction
	// Timestamp is the time of the packet that completed Data.
	Timestamp time.Time
	// Data is only valid during the call.
	Data []byte
}

// TCPConsumer receives reassembled TCP streams. The input reassembles a
// connection only when some attached consumer wants its ports, so handlers
// that do not read TCP payloads cost nothing.
type TCPConsumer interface {
	// WantTCP reports whether the consumer reads connections between these
	// ports. It must be cheap and must not change state.
	WantTCP(srcPort, dstPort uint16) bool
	// TCPData delivers in-order stream bytes.
	TCPData(d *TCPData)
	// TCPClose ends conn (FIN, RST, idle or memory eviction, end of input);
	// consumers drop any partial message state for it.
	TCPClose(conn uint64, ts time.Time)
}
