package netprobehandler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/input/netprobe"
)

func newH(t testing.TB, cfg handler.Config) *Handler {
	t.Helper()
	if cfg == nil {
		cfg = handler.Config{}
	}
	cfg["num_periods"] = uint64(1)
	h, err := New("np", cfg, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return h.(*Handler)
}

func section(t *testing.T, h *Handler) map[string]any {
	t.Helper()
	obj, err := handler.SectionJSON(h, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obj)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func ev(kind netprobe.Kind, target string, id uint32, at time.Duration, err netprobe.ErrorType) *netprobe.Event {
	return &netprobe.Event{Kind: kind, Type: netprobe.TestPing, Target: target, ID: id, Time: time.Unix(1700000000, 0).Add(at), Err: err}
}

func TestTransactions(t *testing.T) {
	h := newH(t, handler.Config{"enable": []string{"quantiles"}})
	h.SetInputTTL(time.Second)
	ms := time.Millisecond
	for _, e := range []*netprobe.Event{
		ev(netprobe.KindSend, "a", 1, 0, 0),
		ev(netprobe.KindRecv, "a", 1, 3*ms, 0),
		ev(netprobe.KindSend, "a", 2, 10*ms, 0),
		ev(netprobe.KindRecv, "a", 2, 15*ms, 0),
		ev(netprobe.KindSend, "a", 3, 20*ms, 0),
		ev(netprobe.KindRecv, "a", 3, 2*time.Second, 0), // later than the TTL
		ev(netprobe.KindRecv, "a", 99, 20*ms, 0),        // no request: ignored
		ev(netprobe.KindSend, "a", 4, 30*ms, 0),
		ev(netprobe.KindFail, "a", 4, 2*time.Second, netprobe.ErrTimeout),
		ev(netprobe.KindFail, "b", 0, 0, netprobe.ErrDNSLookup),
		ev(netprobe.KindSend, "c", 0, 0, 0),
		ev(netprobe.KindFail, "c", 0, 0, netprobe.ErrConnect),
		ev(netprobe.KindFail, "c", 0, 0, netprobe.ErrSocket),
	} {
		h.ProbeEvent(e)
	}
	s := section(t, h)
	tg := s["targets"].(map[string]any)
	a := tg["a"].(map[string]any)
	want := map[string]float64{"attempts": 4, "successes": 2, "packets_timeout": 2, "connect_failures": 0,
		"dns_lookup_failures": 0, "response_min_us": 3000, "response_max_us": 5000}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("a.%s = %v, want %v", k, a[k], v)
		}
	}
	if _, ok := a["response_histogram_us"]; !ok {
		t.Error("no histogram")
	}
	if q, ok := a["response_quantiles_us"].(map[string]any); !ok || q["p50"] == nil {
		t.Errorf("quantiles %v", a["response_quantiles_us"])
	}
	if b := tg["b"].(map[string]any); b["dns_lookup_failures"] != float64(1) {
		t.Errorf("b %v", b)
	}
	if c := tg["c"].(map[string]any); c["connect_failures"] != float64(2) || c["attempts"] != float64(1) {
		t.Errorf("c %v", c)
	}
	if _, ok := s["events"]; ok {
		t.Error("netprobe has no base metrics in its output")
	}
}

func TestTTLPrecedence(t *testing.T) {
	h := newH(t, handler.Config{"xact_ttl_ms": uint64(100)})
	h.SetInputTTL(time.Second)
	if h.ttl != 100*time.Millisecond {
		t.Fatalf("ttl %v: the handler's own setting must win", h.ttl)
	}
	if h := newH(t, nil); h.ttl != DefaultTTL {
		t.Fatalf("default ttl %v", h.ttl)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New("x", handler.Config{"enable": []string{"nope"}}, handler.Env{}); err == nil ||
		err.Error() != "nope is an invalid/unsupported metric group. The valid groups are: all, counters, histograms, quantiles" {
		t.Fatalf("err %v", err)
	}
	if _, err := New("x", handler.Config{"x": 1}, handler.Env{}); err == nil || !strings.Contains(err.Error(), "recorded_stream, xact_ttl_secs, xact_ttl_ms, deep_sample_rate") {
		t.Fatalf("err %v", err)
	}
	h, _ := New("x", handler.Config{"disable": []string{"all"}}, handler.Env{})
	if h.Emits() {
		t.Fatal("all groups disabled but Emits")
	}
}

func TestAllocs(t *testing.T) {
	h := newH(t, nil)
	send, recv := ev(netprobe.KindSend, "a", 1, 0, 0), ev(netprobe.KindRecv, "a", 1, time.Millisecond, 0)
	h.ProbeEvent(send)
	h.ProbeEvent(recv)
	if n := testing.AllocsPerRun(200, func() { h.ProbeEvent(send); h.ProbeEvent(recv) }); n != 0 {
		t.Fatalf("%v allocations per probe", n)
	}
}

func BenchmarkProbe(b *testing.B) {
	h := newH(b, handler.Config{"enable": []string{"quantiles"}})
	send, recv := ev(netprobe.KindSend, "a", 1, 0, 0), ev(netprobe.KindRecv, "a", 1, time.Millisecond, 0)
	b.ReportAllocs()
	for b.Loop() {
		h.ProbeEvent(send)
		h.ProbeEvent(recv)
	}
}
