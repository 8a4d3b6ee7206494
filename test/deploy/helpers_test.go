// Package deploy tests the files under deploy/: they must describe the
// agent as it really is (metric names, config keys, capabilities), so each
// test checks them against a built pktvisord or the real tools
// (Prometheus, promtool, helm, systemd-analyze, setpriv) where available.
package deploy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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

func deployPath(t testing.TB, rel string) string {
	return filepath.Join(repoRoot(t), "deploy", rel)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// pktvisord builds the agent once per test binary into a world-readable
// directory (the capability test runs it as an unprivileged user).
// VISOR_PKTVISORD names a prebuilt binary instead.
func pktvisord(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VISOR_PKTVISORD"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "visor-deploy-")
		if buildErr != nil {
			return
		}
		if buildErr = os.Chmod(buildDir, 0o755); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir, "./cmd/pktvisord")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "pktvisord")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func samplePcap(t testing.TB) string {
	p := filepath.Join(repoRoot(t), "test", "testdata", "sample.pcap")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample capture missing: %v", err)
	}
	return p
}

// sampleConfig is a node config reading the sample capture with the
// handlers the dashboards chart.
func sampleConfig(t testing.TB) string {
	return `
visor:
  taps:
    file:
      input_type: pcap
      config:
        pcap_file: ` + samplePcap(t) + `
        host_spec: 192.0.2.10/32,2001:db8::10/128
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
          dns:
            type: dns
          pcap_stats:
            type: pcap
`
}

var listenRE = regexp.MustCompile(`msg="web server listening" addr=(\S+)`)

// runAgent starts cmd (a pktvisord command line, possibly wrapped) and
// returns the API base URL once it listens; it is killed at cleanup.
func runAgent(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	base, err := startAgent(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// startAgent is runAgent returning start-up failures (with the agent's
// log) as errors.
func startAgent(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start agent: %w", err)
	}
	var logMu sync.Mutex
	var log strings.Builder
	addr := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(exited)
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			logMu.Lock()
			t.Logf("agent log:\n%s", log.String())
			logMu.Unlock()
		}
	})
	select {
	case a := <-addr:
		return "http://" + a, nil
	case <-exited:
		time.Sleep(50 * time.Millisecond) // let the log reader finish
		logMu.Lock()
		defer logMu.Unlock()
		return "", fmt.Errorf("agent exited before listening: %s", strings.TrimSpace(log.String()))
	case <-time.After(15 * time.Second):
		logMu.Lock()
		defer logMu.Unlock()
		return "", fmt.Errorf("agent did not start:\n%s", log.String())
	}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// sampleAgent runs the built pktvisord over the sample capture on a
// loopback port, pushing OTLP and remote write to a loopback sink so the
// exporters' own metrics are in its exposition too.
func sampleAgent(t *testing.T) string {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(sink.Close)
	sinkHost, sinkPort, _ := net.SplitHostPort(strings.TrimPrefix(sink.URL, "http://"))
	cfg := writeFile(t, t.TempDir(), "pktvisord.yaml", sampleConfig(t))
	base := runAgent(t, exec.Command(pktvisord(t), "--config", cfg, "-l", "127.0.0.1", "-p", "0",
		"--otel", "--otel-host", sinkHost, "--otel-port", sinkPort, "--otel-interval", "1",
		"--remote-write", sink.URL+"/api/v1/write", "--remote-write-interval", "1"))
	// The file is read in well under a second; wait for the input to end.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(httpGet(t, base+"/api/v1/metrics/app"), `"running":false`) {
		if time.Now().After(deadline) {
			t.Fatal("sample capture not consumed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base
}

// seriesNames lists the series names of a Prometheus text exposition.
func seriesNames(text string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.IndexAny(l, "{ "); i > 0 {
			out[l[:i]] = true
		}
	}
	return out
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
