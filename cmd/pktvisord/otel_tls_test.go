package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/visorng/visor/agent/export"
	"github.com/visorng/visor/test/pki"
)

// The TLS configuration pktvisord builds from --otel-tls-cert,
// --otel-tls-key and --otel-tls-ca gets the push through a collector that
// requires and verifies client certificates.
func TestOTelClientCertificateFromFlags(t *testing.T) {
	ca := pki.NewCA(t, "pktvisord test CA")
	srvCert := ca.Server(t, "127.0.0.1").TLS(t)
	var got atomic.Int32
	var peer atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		m := &colmetricpb.ExportMetricsServiceRequest{}
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, m) != nil || len(m.ResourceMetrics) == 0 {
			http.Error(w, "want an OTLP protobuf request", http.StatusBadRequest)
			return
		}
		peer.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		got.Add(1)
		out, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	certFile, keyFile := ca.Client(t, "pktvisord-node-1").WriteFiles(t, t.TempDir())
	caFile := writeFile(t, "ca.pem", string(ca.PEM()))
	o, err := parseArgs([]string{"--otel", "--otel-tls", "--otel-tls-cert", certFile, "--otel-tls-key", keyFile,
		"--otel-tls-ca", caFile})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := otelTLSConfig(o)
	if err != nil || tc == nil || len(tc.Certificates) != 1 || tc.RootCAs == nil {
		t.Fatalf("otelTLSConfig: %+v, %v", tc, err)
	}

	if pushed, err := pushOnce(t, srv.URL, tc); !pushed || got.Load() != 1 {
		t.Fatalf("pushed %v, received %d, err %v", pushed, got.Load(), err)
	}
	if cn := peer.Load(); cn != "pktvisord-node-1" {
		t.Errorf("collector saw client %v", cn)
	}
}

// pushOnce makes one OTLP push over HTTPS with tc to the server at rawURL,
// and reports whether it was counted as pushed and the last error.
func pushOnce(t *testing.T, rawURL string, tc *tls.Config) (pushed bool, err error) {
	t.Helper()
	u, _ := url.Parse(rawURL)
	port, _ := strconv.Atoi(u.Port())
	var last atomic.Value
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := export.StartOTLP(ctx, export.OTLPConfig{Host: u.Hostname(), Port: port, Interval: time.Hour,
		TLS: true, TLSConfig: tc, Timeout: 5 * time.Second, OnError: func(err error) { last.Store(err) }},
		literalSource{})
	if err != nil {
		t.Fatal(err)
	}
	p.PushOnce(ctx)
	err, _ = last.Load().(error)
	return p.Stats().Pushes == 1, err
}

// literalSource is one gauge, enough for a well-formed OTLP request.
type literalSource struct{}

func (literalSource) Snapshot() ([]export.PolicyMetrics, error) {
	return []export.PolicyMetrics{{Policy: "default", Points: []export.Point{{Name: "packets_total", Kind: export.Gauge, Value: 1}}}}, nil
}

// A client pair that cannot be loaded stops pktvisord at start-up with an
// error naming the flags and the reason, never a panic or a push that fails
// every interval.
func TestOTelClientCertificateErrors(t *testing.T) {
	ca := pki.NewCA(t, "pktvisord test CA")
	cert, key := ca.Client(t, "pktvisord-node-1").WriteFiles(t, t.TempDir())
	_, otherKey := ca.Client(t, "pktvisord-node-2").WriteFiles(t, t.TempDir())
	garbage := writeFile(t, "garbage.pem", "not a certificate\n")
	for _, tc := range []struct {
		name      string
		cert, key string
		want      string
	}{
		{"missing cert file", "/nonexistent/client.crt", key, "no such file or directory"},
		{"missing key file", cert, "/nonexistent/client.key", "no such file or directory"},
		{"key of another pair", cert, otherKey, "private key does not match public key"},
		{"cert and key swapped", key, cert, "PEM inputs may have been switched"},
		{"not PEM", garbage, key, "failed to find any PEM data"},
		{"cert without key", cert, "", "--otel-tls-cert and --otel-tls-key must be given together"},
		{"key without cert", "", key, "--otel-tls-cert and --otel-tls-key must be given together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, "c.yaml", configYAML(t))
			args := []string{"--config", cfg, "-l", "127.0.0.1", "-p", "0", "--otel", "--otel-tls",
				"--otel-tls-cert", tc.cert, "--otel-tls-key", tc.key}
			var out strings.Builder
			err := run(t.Context(), args, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--otel-tls-") {
				t.Fatalf("run: %v, want an error about the --otel-tls-* flags saying %q", err, tc.want)
			}
		})
	}
	// Without --otel-tls the pair is not used (plain HTTP), as in pktvisor.
	o, err := parseArgs([]string{"--otel", "--otel-tls-cert", "/nonexistent", "--otel-tls-key", "/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := otelTLSConfig(o); tc != nil || err != nil {
		t.Errorf("without --otel-tls: %v, %v", tc, err)
	}
}

// --otel-tls-ca makes pktvisord trust a collector whose certificate comes
// from a private CA; without it the same push fails on the unknown
// authority, and a CA file that cannot be used stops the start.
func TestOTelCollectorCA(t *testing.T) {
	ca := pki.NewCA(t, "private collector CA")
	var got atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		out, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t, "127.0.0.1").TLS(t)}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	caFile := writeFile(t, "ca.pem", string(ca.PEM()))

	push := func(args ...string) (pushed bool, pushErr error) {
		t.Helper()
		o, err := parseArgs(append([]string{"--otel", "--otel-tls"}, args...))
		if err != nil {
			t.Fatal(err)
		}
		tc, err := otelTLSConfig(o)
		if err != nil {
			t.Fatal(err)
		}
		return pushOnce(t, srv.URL, tc)
	}
	if ok, err := push("--otel-tls-ca", caFile); !ok || got.Load() != 1 {
		t.Fatalf("with --otel-tls-ca: pushed %v, received %d, err %v", ok, got.Load(), err)
	}
	if ok, err := push(); ok || err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("without --otel-tls-ca: pushed %v, err %v; want a refusal of the unknown authority", ok, err)
	}
	if got.Load() != 1 {
		t.Errorf("collector received %d pushes, want 1", got.Load())
	}

	garbage := writeFile(t, "garbage.pem", "not a certificate\n")
	for _, tc := range []struct{ file, want string }{
		{"/nonexistent/ca.pem", "no such file or directory"},
		{garbage, "no PEM certificate"},
	} {
		o, err := parseArgs([]string{"--otel", "--otel-tls", "--otel-tls-ca", tc.file})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := otelTLSConfig(o); err == nil || !strings.Contains(err.Error(), "--otel-tls-ca") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--otel-tls-ca %s: %v, want an error saying %q", tc.file, err, tc.want)
		}
	}
}
