package deploy

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/handler/flowhandler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/decode/flow"
)

// flowExposition is the Prometheus text of a flow handler fed a few
// records. No input feeds flows to the agent from a capture yet, so the
// flow family names come from the handler in-process, through the same
// metrics.Prom writer /metrics uses.
func flowExposition(t *testing.T) string {
	t.Helper()
	h, err := flowhandler.New("flow", handler.Config{"num_periods": uint64(1)}, handler.Env{})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(src, dst string, sp, dp uint16, in, out uint32) flow.Record {
		return flow.Record{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Proto: 6,
			InIf: in, OutIf: out, HasInIf: true, HasOutIf: true, Bytes: 1500, Packets: 3, TOS: 0xb8}
	}
	dev := netip.MustParseAddr("192.0.2.1")
	var recs []flow.Record
	for i := 0; i < 20; i++ {
		// Distinct addresses, fixed ports: the handler summarises unknown
		// ports into ranges, and several ports of one range currently
		// produce duplicate top rows (reported to the handler's owner).
		recs = append(recs, rec(fmt.Sprintf("198.51.100.%d", i+1), "203.0.113.9", 40000, 443, 1, 2),
			rec(fmt.Sprintf("2001:db8::%x", i+1), "2001:db8::2", 53, 50000, 2, 1))
	}
	h.(interface {
		HandleFlows(netip.Addr, time.Time, []flow.Record)
	}).HandleFlows(dev, time.Unix(1_700_000_000, 0), recs)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorFunc(func(ch chan<- prometheus.Metric) {
		w := metrics.NewProm(func(m prometheus.Metric) { ch <- m },
			metrics.Label{Key: "policy", Value: "flows"}, metrics.Label{Key: "tap", Value: "sflow"})
		if _, err := h.WriteBucket(0, w); err != nil {
			t.Error(err)
		}
	}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }
