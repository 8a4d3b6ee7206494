package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestPrometheusScrapes runs Debian's Prometheus server against the agent
// on loopback and asks its query API for our series: the end-to-end proof
// that the exposition is accepted by a real scraper, not only by linters.
func TestPrometheusScrapes(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus server not installed (Debian package prometheus)")
	}
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	cfg := writeFile(t, "c.yaml", configYAML(t))
	p := start(t, "--config", cfg, "-l", "127.0.0.1", "-p", "0")

	promPort := freePort(t)
	promCfg := writeFile(t, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pktvisord
    static_configs:
      - targets: ['%s']
  - job_name: pktvisord_all
    metrics_path: /api/v1/policies/__all/metrics/prometheus
    static_configs:
      - targets: ['%s']
`, p.addr, p.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(t.TempDir(), "tsdb"),
		"--web.listen-address=127.0.0.1:"+promPort,
		"--log.level=warn")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	query := func(q string) []any {
		res, err := http.Get("http://127.0.0.1:" + promPort + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer res.Body.Close()
		var body struct {
			Status string `json:"status"`
			Data   struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(res.Body).Decode(&body) != nil || body.Status != "success" {
			return nil
		}
		return body.Data.Result
	}
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		def := query(`packets_total{job="pktvisord",policy="default"}`)
		all := query(`packets_total{job="pktvisord_all",handler="live-mock-first"}`)
		up := query(`up{job="pktvisord_all"} == 1`)
		if len(def) > 0 && len(all) > 0 && len(up) > 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("Prometheus never returned our series; its log:\n%s\nscrape targets: %v", out.String(),
		query(`up`))
}
