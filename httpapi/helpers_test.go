package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visorng/visor/agent"
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

// baseConfig has a file tap read into the default policy (net v1 + pcap,
// the shapes Telegraf and pktvisor-cli read) and a mock tap for live
// traffic.
func baseConfig(t testing.TB) string {
	return `
version: "1.0"
visor:
  taps:
    file:
      input_type: pcap
      config:
        pcap_file: ` + samplePcap(t) + `
      tags:
        site: lab
        virtual: true
    mock:
      input_type: pcap
      config:
        pcap_source: mock
      tags:
        site: lab
        virtual: false
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
          pcap_stats:
            type: pcap
`
}

type testEnv struct {
	agent *agent.Agent
	srv   *Server
	ts    *httptest.Server
}

func newEnv(t testing.TB, yaml string, opts Options) *testEnv {
	t.Helper()
	a := agent.New(agent.Options{})
	t.Cleanup(a.Close)
	if yaml != "" {
		if _, err := a.ApplyYAML([]byte(yaml)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.WaitInputs(ctx); err != nil {
			t.Fatal(err)
		}
	}
	opts.Agent = a
	if opts.Version == "" {
		opts.Version = "4.0.0-test"
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &testEnv{agent: a, srv: s, ts: ts}
}

type response struct {
	status int
	ctype  string
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (e *testEnv) do(t testing.TB, method, path, ctype, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), body: b}
}

// path digs into decoded JSON.
func path(t testing.TB, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: not an object: %v", k, v)
		}
		v, ok = m[k]
		if !ok {
			t.Fatalf("key %q missing; have %v", k, keysOf(m))
		}
	}
	return v
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
