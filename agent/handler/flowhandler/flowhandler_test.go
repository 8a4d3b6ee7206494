package flowhandler

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/decode/flow"
)

var t0 = time.Unix(1_700_000_000, 0)

func rec(src, dst string, sport, dport uint16, proto uint8, in, out uint32, bytes, pkts uint64) flow.Record {
	return flow.Record{
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport, Proto: proto,
		InIf: in, OutIf: out, HasInIf: in != 0, HasOutIf: out != 0, Bytes: bytes, Packets: pkts, TOS: 0xb8 | 1,
	}
}

func build(t *testing.T, cfg handler.Config) *Handler {
	t.Helper()
	cfg["num_periods"] = uint64(1)
	h, err := New("flow", cfg, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return h.(*Handler)
}

func section(t *testing.T, h *Handler) map[string]any {
	t.Helper()
	s, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip through JSON so assertions see plain numbers.
	b, _ := json.Marshal(s)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func TestCountersAndInterfaces(t *testing.T) {
	h := build(t, handler.Config{"enable": []any{"top_tos", "conversations", "top_interfaces"}})
	dev := netip.MustParseAddr("192.0.2.1")
	h.HandleFlows(dev, t0, []flow.Record{
		rec("198.51.100.1", "203.0.113.5", 40000, 53, 17, 3, 7, 100, 2),
		rec("198.51.100.2", "203.0.113.5", 40001, 443, 6, 3, 0, 1000, 10),
		{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Proto: 58, InIf: 7, HasInIf: true, Bytes: 64, Packets: 1, SampleRate: 10},
	})
	s := section(t, h)
	d := "192.0.2.1"
	checks := map[string]float64{
		"records_flows":                       3,
		"interfaces.3.in_bytes":               1100,
		"interfaces.3.in_udp_bytes":           100,
		"interfaces.3.in_tcp_packets":         10,
		"interfaces.3.in_ipv4_packets":        12,
		"interfaces.7.out_bytes":              100,
		"interfaces.7.in_other_l4_bytes":      640, // sampled record scaled by its rate
		"interfaces.7.in_ipv6_packets":        10,
		"interfaces.3.cardinality.src_ips_in": 2,
	}
	for p, want := range checks {
		got := path(s, append([]string{"devices", d}, strings.Split(p, ".")...)...)
		if got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}
	top := path(s, "devices", d, "interfaces", "3", "top_in_dst_ports_bytes").([]any)
	if first := top[0].(map[string]any); first["name"] != "https" || first["estimate"] != 1000.0 {
		t.Errorf("top dst ports %v", top)
	}
	if dscp := path(s, "devices", d, "interfaces", "3", "top_in_dscp_packets").([]any); dscp[0].(map[string]any)["name"] != "EF" {
		t.Errorf("dscp %v", dscp)
	}
	if ecn := path(s, "devices", d, "interfaces", "3", "top_in_ecn_packets").([]any); ecn[0].(map[string]any)["name"] != "ECT(1)" {
		t.Errorf("ecn %v", ecn)
	}
	conv := path(s, "devices", d, "interfaces", "3", "top_conversations_bytes").([]any)
	if c := conv[0].(map[string]any)["name"]; c != "198.51.100.2:registered-40k/203.0.113.5:https" {
		t.Errorf("conversation %v", c)
	}
	ifs := path(s, "devices", d, "top_in_interfaces_bytes").([]any)
	if ifs[0].(map[string]any)["name"] != "3" {
		t.Errorf("top interfaces %v", ifs)
	}
}

func TestFiltersAndDeviceMap(t *testing.T) {
	h := build(t, handler.Config{
		"only_ports":             []any{"53", "1000-2000"},
		"only_device_interfaces": map[string]any{"192.0.2.1": []any{"3"}},
		"device_map": map[string]any{"192.0.2.1": map[string]any{"name": "border1",
			"interfaces": map[string]any{"3": map[string]any{"name": "uplink"}}}},
	})
	h.HandleFlows(netip.MustParseAddr("192.0.2.1"), t0, []flow.Record{
		rec("198.51.100.1", "203.0.113.5", 40000, 53, 17, 3, 7, 100, 2), // kept; index 7 dropped
		rec("198.51.100.1", "203.0.113.5", 40000, 80, 6, 3, 0, 100, 2),  // port filter
		rec("198.51.100.1", "203.0.113.5", 1500, 9, 17, 9, 0, 100, 2),   // interface 9 not listed
	})
	h.HandleFlows(netip.MustParseAddr("192.0.2.99"), t0, []flow.Record{rec("1.1.1.1", "2.2.2.2", 53, 53, 17, 1, 2, 1, 1)})
	s := section(t, h)
	if v := path(s, "devices", "border1", "records_flows"); v != 1.0 {
		t.Errorf("flows %v", v)
	}
	if v := path(s, "devices", "border1", "records_filtered"); v != 2.0 {
		t.Errorf("filtered %v", v)
	}
	if v := path(s, "devices", "192.0.2.99", "records_filtered"); v != 1.0 {
		t.Errorf("unlisted device filtered %v", v)
	}
	if path(s, "devices", "border1", "interfaces", "uplink", "in_bytes") != 100.0 {
		t.Errorf("mapped interface missing: %v", path(s, "devices", "border1", "interfaces"))
	}
	if path(s, "devices", "border1", "interfaces", "7") != nil {
		t.Error("interface outside only_device_interfaces was accounted")
	}
}

func TestSubnetSummarization(t *testing.T) {
	h := build(t, handler.Config{"subnets_for_summarization": []any{"0.0.0.0/24", "203.0.113.0/25"}, "exclude_ips_from_summarization": []any{"198.51.100.9/32"}})
	h.HandleFlows(netip.MustParseAddr("192.0.2.1"), t0, []flow.Record{
		rec("198.51.100.1", "203.0.113.5", 1, 2, 17, 3, 0, 10, 1),
		rec("198.51.100.2", "203.0.113.6", 1, 2, 17, 3, 0, 10, 1),
		rec("198.51.100.9", "203.0.113.200", 1, 2, 17, 3, 0, 10, 1),
	})
	s := section(t, h)
	src := path(s, "devices", "192.0.2.1", "interfaces", "3", "top_in_src_ips_bytes").([]any)
	dst := path(s, "devices", "192.0.2.1", "interfaces", "3", "top_in_dst_ips_bytes").([]any)
	names := func(rows []any) map[string]float64 {
		m := map[string]float64{}
		for _, r := range rows {
			m[r.(map[string]any)["name"].(string)] = r.(map[string]any)["estimate"].(float64)
		}
		return m
	}
	if got := names(src); got["198.51.100.0/24"] != 20 || got["198.51.100.9"] != 10 {
		t.Errorf("src summarised %v", got)
	}
	if got := names(dst); got["203.0.113.0/25"] != 20 || got["203.0.113.0/24"] != 10 {
		t.Errorf("dst summarised %v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]handler.Config{
		"FlowHandler: 'subnets_for_summarization' only allows one ipv4 and one ipv6 wildcard":      {"subnets_for_summarization": []any{"0.0.0.0/8", "0.0.0.0/16"}},
		"FlowHandler: invalid 'only_ports' filter value: 70000":                                    {"only_ports": []any{"70000"}},
		"FlowHandler: 'device_map' config has an invalid device IP: nope":                          {"device_map": map[string]any{"nope": map[string]any{}}},
		"FlowStreamHandler: only_directions filter contained an invalid/unsupported direction: up": {"only_directions": []any{"up"}},
		"FlowHandler: 'only_device_interfaces' filter has an invalid device IP: x":                 {"only_device_interfaces": map[string]any{"x": []any{"1"}}},
		"FlowHandler: invalid 'only_device_interfaces' filter interface value: a-b":                {"only_device_interfaces": map[string]any{"1.2.3.4": []any{"a-b"}}},
	}
	for want, cfg := range cases {
		if _, err := New("f", cfg, handler.Env{}); err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

func TestBoundedDevicesAndInterfaces(t *testing.T) {
	h := build(t, handler.Config{})
	for i := range MaxDevices + 10 {
		dev := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		h.HandleFlows(dev, t0, []flow.Record{rec("1.1.1.1", "2.2.2.2", 1, 2, 17, 1, 0, 1, 1)})
	}
	recs := make([]flow.Record, 0, MaxIfacesPerDevice+5)
	for i := range MaxIfacesPerDevice + 5 {
		recs = append(recs, rec("1.1.1.1", "2.2.2.2", 1, 2, 17, uint32(i+1), 0, 1, 1))
	}
	h.HandleFlows(netip.MustParseAddr("10.0.0.0"), t0, recs)
	s := section(t, h)
	if n := len(path(s, "devices").(map[string]any)); n != MaxDevices {
		t.Errorf("%d devices tracked", n)
	}
	if v := path(s, "devices", "10.0.0.0", "records_interface_overflow"); v != 5.0 {
		t.Errorf("interface overflow %v", v)
	}
	if v := s["records_device_overflow"]; v != 10.0 {
		t.Errorf("device overflow %v", v)
	}
}

func BenchmarkHandleFlows(b *testing.B) {
	h, _ := New("flow", handler.Config{"num_periods": uint64(1)}, handler.Env{})
	fh := h.(*Handler)
	recs := make([]flow.Record, 30)
	for i := range recs {
		recs[i] = rec("198.51.100.1", "203.0.113.5", uint16(40000+i%7), 53, 17, 3, 7, 100, 2)
		recs[i].Src = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
	}
	dev := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fh.HandleFlows(dev, t0, recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
