package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// --otel and --remote-write push from the running agent: both receivers
// get requests of the right type, with the interval flags honoured.
func TestExportFlags(t *testing.T) {
	var otlp, rw atomic.Int32
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/v1/metrics" && r.Header.Get("Content-Type") == "application/x-protobuf" && len(b) > 0:
			otlp.Add(1)
		case r.URL.Path == "/api/v1/write" && r.Header.Get("Content-Encoding") == "snappy" && len(b) > 0:
			rw.Add(1)
		default:
			bad.Store(r.Method + " " + r.URL.Path)
			http.Error(w, "unexpected", 400)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	cfg := writeFile(t, "c.yaml", configYAML(t))
	p := start(t, "--config", cfg, "-l", "127.0.0.1", "-p", "0",
		"--otel", "--otel-host", u.Hostname(), "--otel-port", u.Port(), "--otel-interval", "1",
		"--remote-write", srv.URL+"/api/v1/write", "--remote-write-interval", "1")
	deadline := time.Now().Add(15 * time.Second)
	for otlp.Load() < 2 || rw.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("otlp %d, remote write %d requests; unexpected %v\n%s", otlp.Load(), rw.Load(), bad.Load(), p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := bad.Load(); v != nil {
		t.Errorf("unexpected request %v", v)
	}
	// The exporters' own counters are on /metrics next to the agent's.
	_, body := get(t, http.DefaultClient, "http://"+p.addr+"/metrics")
	for _, want := range []string{"pktvisor_otlp_pushes_total", "pktvisor_remote_write_sent_series_total", "pktvisor_remote_write_dropped_series_total 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, want := range []string{"OTLP push enabled", "Prometheus remote write enabled"} {
		if !strings.Contains(p.out.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestExportFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--remote-write", "not a url"}, "--remote-write"},
		{[]string{"--otel", "--otel-interval", "0"}, "--otel"},
		{[]string{"--otel", "--otel-tls", "--otel-tls-cert", "/nonexistent", "--otel-tls-key", "/nonexistent"}, "--otel-tls-cert"},
	} {
		args := tc.args
		cfg := writeFile(t, "c.yaml", configYAML(t))
		all := append([]string{"--config", cfg, "-l", "127.0.0.1", "-p", "0"}, args...)
		var out strings.Builder
		if err := run(t.Context(), all, &out, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %s", args, err, tc.want)
		}
	}
}
