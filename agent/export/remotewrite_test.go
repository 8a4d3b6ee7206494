package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/visorng/visor/agent/metrics"
)

// decodeWriteRequest is an independent reader of the remote-write
// protobuf, used to check the encoder round-trips.
func decodeWriteRequest(b []byte) ([]Series, error) {
	var out []Series
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return nil, fmt.Errorf("write request tag %d/%d", num, typ)
		}
		b = b[n:]
		ts, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, errors.New("timeseries")
		}
		b = b[n:]
		var s Series
		for len(ts) > 0 {
			num, _, n := protowire.ConsumeTag(ts)
			ts = ts[n:]
			msg, n := protowire.ConsumeBytes(ts)
			if n < 0 {
				return nil, errors.New("field")
			}
			ts = ts[n:]
			switch num {
			case 1:
				var l metrics.Label
				for len(msg) > 0 {
					f, _, n := protowire.ConsumeTag(msg)
					msg = msg[n:]
					v, n := protowire.ConsumeString(msg)
					msg = msg[n:]
					if f == 1 {
						l.Key = v
					} else {
						l.Value = v
					}
				}
				s.Labels = append(s.Labels, l)
			case 2:
				for len(msg) > 0 {
					f, _, n := protowire.ConsumeTag(msg)
					msg = msg[n:]
					if f == 1 {
						v, n := protowire.ConsumeFixed64(msg)
						msg = msg[n:]
						s.Value = math.Float64frombits(v)
					} else {
						v, n := protowire.ConsumeVarint(msg)
						msg = msg[n:]
						s.TimestampMs = int64(v)
					}
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func TestEncodeWriteRequestRoundTrip(t *testing.T) {
	in := []Series{
		{Labels: []metrics.Label{{Key: "__name__", Value: "a"}, {Key: "x", Value: "ü"}}, Value: 1.5, TimestampMs: 1700000000123},
		{Labels: []metrics.Label{{Key: "__name__", Value: "b"}}, Value: math.Inf(1), TimestampMs: 1},
	}
	out, err := decodeWriteRequest(EncodeWriteRequest(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != fmt.Sprint(in) {
		t.Fatalf("round trip\n got %v\nwant %v", out, in)
	}
}

func BenchmarkEncodeWriteRequest(b *testing.B) {
	ss := ToSeries([]PolicyMetrics{{Policy: "p", Points: make([]Point, 1000)}}, nil, time.Now())
	for i := range ss {
		ss[i].Labels = append(ss[i].Labels, metrics.Label{Key: "policy", Value: "p"}, metrics.Label{Key: "handler", Value: "p-net"})
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = EncodeWriteRequest(buf[:0], ss)
	}
}

// Retries with backoff on 5xx, then success; a 4xx is not retried.
func TestRemoteWriteRetriesAndDrops(t *testing.T) {
	var calls atomic.Int32
	var bad atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
			http.Error(w, "headers", 400)
			return
		}
		b, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, b)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if _, err := decodeWriteRequest(raw); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if bad.Load() {
			http.Error(w, "out of bounds", 400)
			return
		}
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reported atomic.Int32
	rw, err := StartRemoteWrite(ctx, RemoteWriteConfig{URL: srv.URL, Interval: time.Hour, BatchSize: 3, QueueSize: 5,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, OnError: func(error) { reported.Add(1) }}, fixedSource(nil))
	if err != nil {
		t.Fatal(err)
	}
	series := ToSeries(literalSnapshot(t), nil, time.Now())[:3]
	rw.Enqueue(series)
	waitFor(t, func() bool { return rw.Stats().Sent == 3 })
	if st := rw.Stats(); st.Retries != 2 || st.Failed != 2 || st.Dropped != 0 {
		t.Fatalf("after retries: %+v", st)
	}
	bad.Store(true)
	rw.Enqueue(series[:1])
	waitFor(t, func() bool { return rw.Stats().Dropped == 1 })
	if st := rw.Stats(); st.Retries != 2 || reported.Load() != 1 {
		t.Fatalf("a 400 was retried or not reported: %+v reported %d", st, reported.Load())
	}
	// A full queue drops instead of blocking the caller.
	cancel()
	rw.Wait()
	before := rw.Stats().Dropped
	rw.Enqueue(make([]Series, 8))
	if st := rw.Stats(); st.Dropped != before+3 || st.Queued != 5 {
		t.Fatalf("bounded queue: %+v (dropped before %d)", st, before)
	}
	if _, err := StartRemoteWrite(ctx, RemoteWriteConfig{URL: "ftp://x"}, fixedSource(nil)); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad URL: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPrometheus runs Debian's Prometheus with the remote-write receiver
// on a loopback port, storage in a temp dir.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	base := "http://" + addr
	waitFor(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

type promResult struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(t *testing.T, base, q string) []promResult {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []promResult `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, r.Status)
	}
	return r.Data.Result
}

// The agent runs over the sample capture; its snapshot goes through the
// queue, batching and snappy/protobuf to a real Prometheus, and the series
// come back through Prometheus's query API with their labels.
func TestRemoteWriteToPrometheus(t *testing.T) {
	base := startPrometheus(t)
	a := sampleAgent(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lastErr atomic.Value
	rw, err := StartRemoteWrite(ctx, RemoteWriteConfig{
		URL: base + "/api/v1/write", Interval: 200 * time.Millisecond, BatchSize: 100,
		ExternalLabels: []metrics.Label{{Key: "node", Value: "node-1"}},
		OnError:        func(err error) { lastErr.Store(err.Error()) },
	}, &AgentSource{Agent: a})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return len(promQuery(t, base, `packets_total{node="node-1",policy="default"}`)) == 1
	})
	r := promQuery(t, base, `packets_total{node="node-1"}`)[0]
	if r.Metric["handler"] != "default-file-net" || r.Metric["tap"] != "file" {
		t.Errorf("labels %v", r.Metric)
	}
	pol, _ := a.Policy("default")
	snap, _ := (&AgentSource{Agent: a}).Snapshot()
	var want float64
	for _, pm := range snap {
		for _, p := range pm.Points {
			if pm.Policy == pol.Name() && p.Name == "packets_total" {
				want = p.Value
			}
		}
	}
	if r.Value[1] != fmt.Sprint(want) {
		t.Errorf("packets_total = %v, want %v", r.Value[1], want)
	}
	for _, q := range []string{
		`dns_xact_out_quantiles_us{quantile="0.99",node="node-1"}`,
		`dns_xact_out_quantiles_us_count{node="node-1"}`,
		`count(packets_top_ipv4{node="node-1"}) > 1`,
	} {
		// Series arrive in batches of 100, so later families may land a
		// push after packets_total: wait for each instead of asking once.
		waitFor(t, func() bool { return len(promQuery(t, base, q)) > 0 })
	}
	cancel()
	rw.Wait()
	st := rw.Stats()
	if st.Sent == 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, last error %v", st, lastErr.Load())
	}
}

func TestSelfMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rw, err := StartRemoteWrite(ctx, RemoteWriteConfig{URL: srv.URL, Interval: time.Hour, QueueSize: 2}, fixedSource(nil))
	if err != nil {
		t.Fatal(err)
	}
	rw.Enqueue(make([]Series, 1))
	waitFor(t, func() bool { return rw.Stats().Dropped == 1 })
	cancel()
	rw.Wait()
	rw.Enqueue(make([]Series, 3)) // 2 queued, 1 dropped
	want := `
# HELP pktvisor_remote_write_dropped_series_total Series dropped: queue full or batch given up after retries.
# TYPE pktvisor_remote_write_dropped_series_total counter
pktvisor_remote_write_dropped_series_total 2
# HELP pktvisor_remote_write_queued_series Series waiting in the remote-write queue.
# TYPE pktvisor_remote_write_queued_series gauge
pktvisor_remote_write_queued_series 2
`
	if err := testutil.CollectAndCompare(rw, strings.NewReader(want),
		"pktvisor_remote_write_dropped_series_total", "pktvisor_remote_write_queued_series"); err != nil {
		t.Fatal(err)
	}
	if probs, err := testutil.CollectAndLint(rw); err != nil || len(probs) != 0 {
		t.Fatalf("lint: %v %v", probs, err)
	}
}
