package netprobe

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/visorng/visor/agent/handler"
	"github.com/visorng/visor/agent/metrics"
	"github.com/visorng/visor/agent/window"
)

func tgt(kv ...any) handler.Config {
	m := handler.Config{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestParseConfig(t *testing.T) {
	ok := handler.Config{"a": tgt("target", "192.0.2.1")}
	tests := []struct {
		cfg  handler.Config
		want string
	}{
		{handler.Config{"bogus": 1}, "bogus is an invalid/unsupported config or filter. The valid configs/filters are: test_type, interval_msec, timeout_msec, packets_per_test, packets_interval_msec, packet_payload_size, targets"},
		{handler.Config{"targets": ok}, "'test_type' config not specified. The valid test types are: http, ping, tcp, udp"},
		{handler.Config{"test_type": "dns", "targets": ok}, "dns is an invalid/unsupported test type. The valid test types are: http, ping, tcp, udp"},
		{handler.Config{"test_type": "http", "targets": ok}, "Test type currently not supported"},
		{handler.Config{"test_type": "udp", "targets": ok}, "Test type currently not supported"},
		{handler.Config{"test_type": "ping", "timeout_msec": uint64(6000), "targets": ok}, "timeout_msec [6000] cannot be greater than interval_msec [5000]"},
		{handler.Config{"test_type": "ping", "packets_per_test": uint64(0), "targets": ok}, "packets_per_test needs to be greater than 0"},
		{handler.Config{"test_type": "ping", "packets_per_test": uint64(300), "targets": ok}, "packets_per_test [300] times packets_interval_msec [25] cannot be greater than packets_interval_msec [5000]"},
		{handler.Config{"test_type": "ping", "packet_payload_size": uint64(70000), "targets": ok}, "packet_payload_size was set to 70000 but max supported size is 65500"},
		{handler.Config{"test_type": "ping"}, "no targets specified"},
		{handler.Config{"test_type": "ping", "targets": handler.Config{"a": tgt("port", uint64(1))}}, "'a' does not have key 'target' which is required"},
		{handler.Config{"test_type": "tcp", "targets": ok}, "'a' does not have key 'port' which is required"},
		{handler.Config{"test_type": "ping", "targets": handler.Config{"a": tgt("target", "192.0.2.1", "ip_version", uint64(5))}}, "ip_version must be 4 or 6"},
		{handler.Config{"test_type": "ping", "targets": handler.Config{"a": tgt("target", "1.2.3.4", "ip_version", uint64(6))}}, "target 1.2.3.4 is IPv4 but ip_version is set to 6"},
		{handler.Config{"test_type": "ping", "targets": handler.Config{"a": tgt("target", "nodots")}}, "nodots is an invalid/unsupported DNS"},
		{handler.Config{"test_type": "ping", "targets": handler.Config{"a": tgt("target", "localhost")}}, ""},
		{handler.Config{"test_type": "tcp", "targets": handler.Config{"a": tgt("target", "example.org", "port", uint64(443))}}, ""},
	}
	for _, tc := range tests {
		_, err := ParseConfig(tc.cfg)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.cfg, got, tc.want)
		}
	}
	c, err := ParseConfig(handler.Config{"test_type": "ping", "targets": ok})
	if err != nil || c.Interval != 5*time.Second || c.Timeout != 2*time.Second || c.PacketsPerTest != 1 ||
		c.PacketsInterval != 25*time.Millisecond || c.PayloadSize != 48 || len(c.Targets) != 1 {
		t.Fatalf("defaults %+v %v", c, err)
	}
}

// recorder is a minimal handler collecting events.
type recorder struct {
	mu  sync.Mutex
	evs []Event
	ttl time.Duration
}

func (r *recorder) Name() string                                         { return "rec" }
func (r *recorder) Type() string                                         { return "rec" }
func (r *recorder) Version() string                                      { return "1.0" }
func (r *recorder) Schema() string                                       { return "rec" }
func (r *recorder) Periods() int                                         { return 1 }
func (r *recorder) Emits() bool                                          { return false }
func (r *recorder) WriteBucket(int, metrics.Writer) (window.Span, error) { return window.Span{}, nil }
func (r *recorder) WriteWindow(int, metrics.Writer) (window.Span, error) { return window.Span{}, nil }
func (r *recorder) SetInputTTL(d time.Duration)                          { r.ttl = d }
func (r *recorder) ProbeEvent(e *Event) {
	r.mu.Lock()
	r.evs = append(r.evs, *e)
	r.mu.Unlock()
}

func (r *recorder) count(target string, k Kind, e ErrorType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.evs {
		if x.Target == target && x.Kind == k && x.Err == e {
			n++
		}
	}
	return n
}

// TestTCPLoopback probes a listening and a closed port on loopback.
func TestTCPLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	cfg, err := ParseConfig(handler.Config{"test_type": "tcp", "interval_msec": uint64(100), "timeout_msec": uint64(100),
		"targets": handler.Config{
			"open":   tgt("target", "127.0.0.1", "port", uint64(ln.Addr().(*net.TCPAddr).Port)),
			"closed": tgt("target", "127.0.0.1", "port", uint64(closedPort)),
			"nxname": tgt("target", "does-not-exist.invalid", "port", uint64(1)),
		}})
	if err != nil {
		t.Fatal(err)
	}
	// The resolver never leaves the process: tests send nothing beyond
	// loopback.
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no dns in tests")
	}}
	in, err := New(cfg, Options{Resolver: noDNS})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	in.Attach(r)
	if r.ttl != 100*time.Millisecond {
		t.Fatalf("ttl %v", r.ttl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	if err := in.Run(ctx); err != context.DeadlineExceeded {
		t.Fatalf("run: %v", err)
	}
	sends, recvs := r.count("open", KindSend, ErrNone), r.count("open", KindRecv, ErrNone)
	if sends < 3 || sends != recvs {
		t.Errorf("open: %d sends %d recvs", sends, recvs)
	}
	if n := r.count("closed", KindFail, ErrConnect); n < 3 || n != r.count("closed", KindSend, ErrNone) {
		t.Errorf("closed: %d connect failures", n)
	}
	if n := r.count("nxname", KindFail, ErrDNSLookup); n < 1 {
		t.Errorf("nxname: %d dns failures", n)
	}
	info := in.Info()["netprobe"].(map[string]any)
	if info["current_targets_total"] != 3 {
		t.Errorf("info %v", info)
	}
}
