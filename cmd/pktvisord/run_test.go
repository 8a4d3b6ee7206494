package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visorng/visor/test/pki"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func samplePcap(t testing.TB) string {
	p := filepath.Join(repoRoot(t), "test", "testdata", "sample.pcap")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample capture missing: %v", err)
	}
	return p
}

// syncBuffer is a log sink the test reads while run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`msg="web server listening" addr=(\S+)`)

type agentProc struct {
	addr   string
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start runs pktvisord in-process and waits until it listens.
func start(t *testing.T, args ...string) *agentProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &agentProc{out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, args, p.out, io.Discard) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(p.out.String()); m != nil {
			p.addr = m[1]
			t.Cleanup(func() { p.stop(t) })
			return p
		}
		select {
		case err := <-p.done:
			cancel()
			t.Fatalf("run returned early: %v\n%s", err, p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("agent did not start:\n%s", p.out.String())
	return nil
}

func (p *agentProc) stop(t *testing.T) {
	p.cancel()
	select {
	case err, ok := <-p.done:
		if ok && err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("agent did not stop")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func configYAML(t *testing.T) string {
	return `
version: "1.0"
visor:
  config:
    prom_instance: from-file
  taps:
    file:
      input_type: pcap
      config:
        pcap_file: ` + samplePcap(t) + `
    mock:
      input_type: pcap
      config:
        pcap_source: mock
  policies:
    default:
      kind: collection
      input:
        tap: file
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
    live:
      kind: collection
      input:
        tap: mock
        input_type: pcap
      handlers:
        modules:
          - first:
              type: net
          - second:
              type: net
`
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestConfigWithoutIface runs from --config alone (quirk 11 fixed), serves
// the file policy and the chained mock policy, and stops on cancel.
func TestConfigWithoutIface(t *testing.T) {
	cfg := writeFile(t, "c.yaml", configYAML(t))
	p := start(t, "--config", cfg, "-l", "127.0.0.1", "-p", "0")
	base := "http://" + p.addr
	deadline := time.Now().Add(5 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		var code int
		code, body = get(t, http.DefaultClient, base+"/metrics")
		if code == 200 && strings.Contains(body, `packets_total{instance="from-file",policy="default",tap="file"}`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, `instance="from-file"`) {
		t.Fatalf("/metrics:\n%s", body)
	}
	if code, _ := get(t, http.DefaultClient, base+"/api/v1/policies/live"); code != 200 {
		t.Fatalf("live policy: %d", code)
	}
	req, _ := http.NewRequest("DELETE", base+"/api/v1/policies/live", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("write route without --admin-api: %d", res.StatusCode)
	}
	if !strings.Contains(p.out.String(), "REQUEST: GET /metrics 200") {
		t.Fatalf("access log missing:\n%s", p.out.String())
	}
}

func TestStartupErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	badYAML := writeFile(t, "bad.yaml", "visor:\n  policies:\n    p:\n      kind: nope\n")
	policyless := writeFile(t, "empty.yaml", "visor:\n  taps: {}\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad flag", []string{"--nope"}, "flag provided but not defined: -nope"},
		{"tls without files", []string{"--tls", "--admin-api"}, "you must specify --tls-key and --tls-cert to use --tls"},
		{"missing tls file", []string{"--tls", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem", "--admin-api"}, "--tls-cert/--tls-key"},
		{"port in use", []string{"--admin-api", "-l", "127.0.0.1", "-p", busyPort}, "address already in use"},
		{"unknown interface", []string{"-l", "127.0.0.1", "-p", "0", "nosuchif0"}, "IFACE nosuchif0"},
		{"bad yaml", []string{"--config", badYAML}, "unknown policy kind: nope (line 4, column 13)"},
		{"missing config", []string{"--config", "/nonexistent.yaml"}, "--config"},
		{"nothing to do", []string{"--config", policyless}, "Nothing to do: specify --admin-api or IFACE."},
		{"admin exposed", []string{"--admin-api", "-l", "0.0.0.0", "-p", "0"}, "refusing to serve the admin API"},
		{"two ifaces", []string{"a", "b"}, "only one IFACE"},
		{"bad periods", []string{"--periods", "0", "--admin-api"}, "--periods must be between 1 and 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			err := run(ctx, c.args, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			if strings.Contains(out.String(), "web server listening") {
				t.Fatal("server started despite the error")
			}
		})
	}
	// The busy port is still ours, and a failed IFACE start left no
	// listener behind: the port can be bound again.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestInfoCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, io.Discard); err != nil || strings.TrimSpace(out.String()) != Version {
		t.Fatalf("--version: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"--help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "pktvisord [options] [IFACE]") {
		t.Fatalf("--help: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"--module-list"}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "handler: net 1.0") || !strings.Contains(out.String(), "input: pcap 1.0") {
		t.Fatalf("--module-list: %v %q", err, out.String())
	}
}

// TestTLSAndToken: HTTPS end to end with a generated certificate, the admin
// API on a wildcard address (allowed because TLS and a token are set), and
// the token accepted and refused.
func TestTLSAndToken(t *testing.T) {
	ca := pki.NewCA(t, "pktvisord test CA")
	certFile, keyFile := ca.Server(t, "127.0.0.1").WriteFiles(t, t.TempDir())
	tokenFile := writeFile(t, "token", "t0ken\n")
	cfg := writeFile(t, "c.yaml", configYAML(t))
	p := start(t, "--config", cfg, "--tls", "--tls-cert", certFile, "--tls-key", keyFile,
		"--admin-api", "--admin-token-file", tokenFile, "-l", "0.0.0.0", "-p", "0")
	_, port, _ := net.SplitHostPort(p.addr)
	base := "https://127.0.0.1:" + port
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}, Timeout: 5 * time.Second}
	code, body := get(t, c, base+"/api/v1/metrics/app")
	if code != 200 || !strings.Contains(body, `"version"`) {
		t.Fatalf("app over TLS: %d %s", code, body)
	}
	var app map[string]any
	if err := json.Unmarshal([]byte(body), &app); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://127.0.0.1:" + port + "/api/v1/metrics/app"); err == nil {
		// Plain HTTP to a TLS port gets a 400 from net/http, not data.
		code, _ := get(t, http.DefaultClient, "http://127.0.0.1:"+port+"/api/v1/metrics/app")
		if code == 200 {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	del := func(token string) int {
		req, _ := http.NewRequest("DELETE", base+"/api/v1/policies/live", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := del(""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code := del("wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code := del("t0ken"); code != 200 {
		t.Fatalf("token: %d", code)
	}
}

func TestLogFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pktvisord.log")
	f, err := openLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	io.WriteString(f, "one\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "two\n")
	a, _ := os.ReadFile(path + ".1")
	b, _ := os.ReadFile(path)
	if string(a) != "one\n" || string(b) != "two\n" {
		t.Fatalf("rotated %q, new %q", a, b)
	}
}
