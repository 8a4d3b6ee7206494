package agent

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/nethandler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
	"github.com/visorng/visor/decode"
)

// countHandler counts packets; with only_tcp it lets only TCP through a
// chain.
type countHandler struct {
	name    string
	onlyTCP bool
	n       atomic.Uint64
}

var (
	_ handler.Handler        = (*countHandler)(nil)
	_ handler.PacketConsumer = (*countHandler)(nil)
	_ handler.Passer         = (*countHandler)(nil)
)

func newCount(name string, cfg handler.Config, _ handler.Env) (handler.Handler, error) {
	only, err := cfg.Bool("only_tcp", false)
	if err != nil {
		return nil, err
	}
	return &countHandler{name: name, onlyTCP: only}, nil
}

func (c *countHandler) HandlePacket(*decode.Packet) { c.n.Add(1) }
func (c *countHandler) Pass(p *decode.Packet) bool  { return !c.onlyTCP || p.L4 == decode.L4TCP }
func (c *countHandler) Name() string                { return c.name }
func (c *countHandler) Type() string                { return "count" }
func (c *countHandler) Version() string             { return "1.0" }
func (c *countHandler) Schema() string              { return "count" }
func (c *countHandler) Periods() int                { return 1 }
func (c *countHandler) Emits() bool                 { return true }
func (c *countHandler) WriteBucket(_ int, w metrics.Writer) (window.Span, error) {
	w.Counter(metrics.N("count", "packets", "packets"), c.n.Load())
	return window.Span{Start: time.Unix(1, 0)}, nil
}
func (c *countHandler) WriteWindow(p int, w metrics.Writer) (window.Span, error) {
	return c.WriteBucket(p, w)
}

func testRegistry() *handler.Registry {
	return handler.NewRegistry(map[handler.Key]handler.Factory{
		{Type: "count", Version: "1.0"}: newCount,
		{Type: "net", Version: "1.0"}:   nethandler.NewV1,
	})
}

func runFile(t *testing.T, yaml string) *Agent {
	t.Helper()
	a := New(Options{Handlers: testRegistry()})
	t.Cleanup(a.Close)
	if _, err := a.ApplyYAML([]byte(yaml)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitInputs(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestChainedPolicy(t *testing.T) {
	a := runFile(t, `
visor:
  taps:
    f:
      input_type: pcap
      config: {pcap_file: `+samplePcap(t)+`}
  policies:
    par:
      kind: collection
      input: {tap: f, input_type: pcap}
      handlers:
        modules:
          all: {type: count}
          tcp: {type: count, config: {only_tcp: true}}
    seq:
      kind: collection
      input: {tap: f, input_type: pcap}
      handlers:
        modules:
          - gate: {type: count, config: {only_tcp: true}}
          - after: {type: count}
          - net: {type: net}
`)
	par, _ := a.Policy("par")
	seq, _ := a.Policy("seq")
	all := par.Handlers()[0].(*countHandler).n.Load()
	gate := seq.Handlers()[0].(*countHandler).n.Load()
	after := seq.Handlers()[1].(*countHandler).n.Load()
	if all == 0 || gate != all {
		t.Fatalf("first stage saw %d of %d packets", gate, all)
	}
	obj, err := PolicyJSON(seq, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	net := obj["seq-f-net"].(map[string]any)["packets"].(map[string]any)
	if after == 0 || after >= all || net["events"].(uint64) != after {
		t.Fatalf("after the TCP gate: %d packets, net handler saw %v events, of %d", after, net["events"], all)
	}
	if p := a.PolicyInfo(seq); len(p["modules"].(map[string]any)) != 3 {
		t.Fatalf("chained modules listed: %v", p["modules"])
	}
}

func TestMergeLikeHandlers(t *testing.T) {
	a := runFile(t, `
visor:
  taps:
    f:
      input_type: pcap
      config: {pcap_file: `+samplePcap(t)+`}
  policies:
    m:
      kind: collection
      config: {merge_like_handlers: true}
      input: {tap: f, input_type: pcap}
      handlers:
        modules:
          a: {type: count}
          b: {type: count}
          n1: {type: net}
          n2: {type: net}
`)
	p, _ := a.Policy("m")
	obj, err := PolicyJSON(p, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(obj) != 2 {
		t.Fatalf("sections %v", keys(obj))
	}
	one := p.Handlers()[0].(*countHandler).n.Load()
	if got := obj["count_merged"].(map[string]any)["count"].(map[string]any)["packets"].(uint64); got != 2*one {
		t.Fatalf("merged count %d, want %d", got, 2*one)
	}
	w := metrics.NewJSON(nil)
	if _, err := p.Handlers()[2].WriteBucket(0, w); err != nil {
		t.Fatal(err)
	}
	single := w.Object()["total"].(uint64)
	net := obj["packets_merged"].(map[string]any)["packets"].(map[string]any)
	if single == 0 || net["total"].(uint64) != 2*single {
		t.Fatalf("merged net total %v, want 2 × %d", net["total"], single)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
