package dnshandler

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode"
)

func wirePacket(t *testing.T, name string, rcode int, response bool) *decode.Packet {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Response = response
	m.Rcode = rcode
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return &decode.Packet{Timestamp: time.Unix(1_700_000_000, 0), L3: decode.L3IPv4, L4: decode.L4UDP,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), SrcPort: 53, DstPort: 40000, Payload: b}
}

func TestPassFiltersChain(t *testing.T) {
	hi, err := NewV1("d", handler.Config{"only_rcode": []any{"nxdomain"}}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	h := hi.(*V1)
	if !h.Pass(wirePacket(t, "x.example.", dns.RcodeNameError, true)) {
		t.Error("NXDOMAIN reply should pass only_rcode nxdomain")
	}
	if h.Pass(wirePacket(t, "x.example.", dns.RcodeSuccess, true)) {
		t.Error("NOERROR reply should stop")
	}
	if h.Pass(&decode.Packet{L4: decode.L4UDP, SrcPort: 1000, DstPort: 2000, Payload: make([]byte, 20)}) {
		t.Error("non-DNS UDP should stop")
	}
	if !h.Pass(&decode.Packet{L4: decode.L4TCP, SrcPort: 40000, DstPort: 53}) {
		t.Error("TCP on a DNS port goes on whole")
	}
	if h.Pass(&decode.Packet{L4: decode.L4ICMP}) {
		t.Error("ICMP should stop")
	}
}
