package nethandler

import (
	"net/netip"
	"testing"
	"time"

	"github.com/visorng/visor/agent/capture"
	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/decode"
)

func TestUserRate(t *testing.T) {
	for _, c := range []struct{ want, kernel, got int }{
		{10, 10, 100}, {10, 100, 10}, {10, 50, 20}, {100, 100, 100}, {30, 40, 75}, {1, 3, 34}, {50, 10, 100},
	} {
		if g := userRate(c.want, c.kernel); g != c.got {
			t.Errorf("userRate(%d, %d) = %d, want %d", c.want, c.kernel, g, c.got)
		}
	}
}

func kernelDelta() *capture.KernelCounters {
	var k capture.KernelCounters
	k.Matched[decode.DirIn] = capture.KernelClass{Packets: 10, Bytes: 1000, IPv4: 8, IPv6: 1, OtherL3: 1, UDP: 5, TCP: 2, ICMP: 1, OtherL4: 1, TCPSyn: 2}
	k.Matched[decode.DirOut] = capture.KernelClass{Packets: 4, Bytes: 400, IPv4: 4, UDP: 4}
	k.Matched[decode.DirUnknown] = capture.KernelClass{Packets: 1, Bytes: 60, OtherL3: 1}
	// Packets seen before the tap filter must not leak into the counters.
	k.Packets, k.UDP = 100, 90
	return &k
}

func bucketJSON(t *testing.T, h handler.Handler) map[string]any {
	t.Helper()
	j := metrics.NewJSON(map[string]any{})
	if _, err := h.WriteBucket(0, j); err != nil {
		t.Fatal(err)
	}
	return j.Object()
}

func TestKernelCountsV1(t *testing.T) {
	h, err := NewV1("k", handler.Config{"deep_sample_rate": uint64(10)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	v1 := h.(*V1)
	if r := v1.DeepSampleRate(); r != 10 {
		t.Fatalf("DeepSampleRate = %d", r)
	}
	if !v1.CountFromKernel(10) {
		t.Fatal("CountFromKernel refused without a geo filter")
	}
	ts := time.Unix(1700000000, 0)
	v1.KernelCounts(kernelDelta(), ts)
	// Frames the kernel sampled: deep metrics only, no counters.
	p := decode.Packet{Timestamp: ts, L3: decode.L3IPv4, L4: decode.L4UDP, Dir: decode.DirIn,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("10.0.0.1"), OrigLen: 100, CapLen: 100}
	v1.HandlePacket(&p)
	v1.HandlePacket(&p)
	got := bucketJSON(t, v1)
	want := map[string]uint64{"total": 15, "udp": 9, "tcp": 2, "other_l4": 4, "ipv4": 12, "ipv6": 1,
		"in": 10, "out": 4, "unknown_dir": 1, "events": 15, "deep_samples": 2}
	for k, w := range want {
		if g, _ := got[k].(uint64); g != w {
			t.Errorf("%s = %v, want %d", k, got[k], w)
		}
	}
	if syn := got["protocol"].(map[string]any)["tcp"].(map[string]any)["syn"]; syn != uint64(2) {
		t.Errorf("syn = %v", syn)
	}
	if c := got["cardinality"].(map[string]any)["src_ips_in"]; c != uint64(1) {
		t.Errorf("src_ips_in = %v", c)
	}
}

func TestKernelCountsV2(t *testing.T) {
	h, err := NewV2("k", handler.Config{}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	v2 := h.(*V2)
	if !v2.CountFromKernel(100) {
		t.Fatal("CountFromKernel refused")
	}
	v2.KernelCounts(kernelDelta(), time.Unix(1700000000, 0))
	got := bucketJSON(t, v2)
	in := got["in"].(map[string]any)
	for k, w := range map[string]uint64{"total_packets": 10, "udp_packets": 5, "tcp_packets": 2, "other_l4_packets": 3, "ipv4_packets": 8, "ipv6_packets": 1} {
		if in[k] != w {
			t.Errorf("in.%s = %v, want %d", k, in[k], w)
		}
	}
	if out := got["out"].(map[string]any); out["total_packets"] != uint64(4) {
		t.Errorf("out = %v", out)
	}
	if got["observed_packets"] != uint64(15) {
		t.Errorf("observed_packets = %v", got["observed_packets"])
	}
}

func TestGeoFilterStaysInPacketMode(t *testing.T) {
	h, err := NewV1("k", handler.Config{"only_asn_number": []string{"64500"}, "deep_sample_rate": uint64(10)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	v1 := h.(*V1)
	if v1.CountFromKernel(10) || v1.DeepSampleRate() != 100 {
		t.Fatal("a geo/ASN-filtered handler must keep counting packets and need them all")
	}
	v1.KernelCounts(kernelDelta(), time.Unix(1700000000, 0))
	if got := bucketJSON(t, v1); got["total"] != uint64(0) {
		t.Fatalf("total = %v after a kernel delta in packet mode", got["total"])
	}
}
