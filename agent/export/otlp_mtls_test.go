package export

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA issues short-lived certificates for one test; nothing touches disk
// except the PEM files a test writes on purpose.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue signs a leaf for cn; server leaves are valid for 127.0.0.1 only.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// clientFiles writes a client pair where pktvisord's --otel-tls-cert and
// --otel-tls-key would point.
func (ca *testCA) clientFiles(t *testing.T, cn string) (certFile, keyFile string) {
	t.Helper()
	c, k := ca.issue(t, cn, x509.ExtKeyUsageClientAuth)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// lockedBuffer collects the server's error log (handshake failures), which
// net/http writes from its own goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mtlsReceiver is an OTLP receiver that only talks to clients holding a
// certificate signed by ca, as a collector with client_ca_file does.
type mtlsReceiver struct {
	*otlpReceiver
	srv    *httptest.Server
	errLog *lockedBuffer
	mu     sync.Mutex
	peers  []string // client certificate CNs of accepted requests
}

func newMTLSReceiver(t *testing.T, ca *testCA) *mtlsReceiver {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "otel-collector", x509.ExtKeyUsageServerAuth)
	serverCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	r := &mtlsReceiver{otlpReceiver: &otlpReceiver{got: make(chan struct{}, 1)}, errLog: &lockedBuffer{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.TLS != nil && len(req.TLS.PeerCertificates) > 0 {
			r.mu.Lock()
			r.peers = append(r.peers, req.TLS.PeerCertificates[0].Subject.CommonName)
			r.mu.Unlock()
		}
		r.otlpReceiver.ServeHTTP(w, req)
	}))
	r.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool,
		MinVersion:   tls.VersionTLS12,
	}
	r.srv.Config.ErrorLog = log.New(r.errLog, "", 0)
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *mtlsReceiver) received() int {
	r.otlpReceiver.mu.Lock()
	defer r.otlpReceiver.mu.Unlock()
	return len(r.reqs)
}

// A collector that requires client certificates gets the push when the
// agent holds one loaded from PEM files (as --otel-tls-cert/--otel-tls-key
// load it), and refuses it, with the reason in the push error, otherwise.
func TestOTLPMutualTLS(t *testing.T) {
	ca := newTestCA(t, "visor test CA")
	rogue := newTestCA(t, "rogue CA")
	loadPair := func(ca *testCA) []tls.Certificate {
		c, k := ca.clientFiles(t, "visor-agent")
		pair, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	for _, tc := range []struct {
		name    string
		certs   []tls.Certificate
		wantErr string // "" means the push must arrive
	}{
		{"client cert from the trusted CA", loadPair(ca), ""},
		{"no client cert", nil, "certificate required"},
		// The server's CertificateRequest names the CAs it accepts, and
		// crypto/tls sends no certificate rather than one that does not
		// chain to them, so the server's verdict is the same as above.
		{"client cert from another CA", loadPair(rogue), "certificate required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newMTLSReceiver(t, ca)
			host, port := hostPort(t, rcv.srv.URL)
			var pushErr error
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o, err := StartOTLP(ctx, OTLPConfig{Host: host, Port: port, Interval: time.Hour, TLS: true, Timeout: 5 * time.Second,
				TLSConfig: &tls.Config{RootCAs: ca.pool, Certificates: tc.certs, MinVersion: tls.VersionTLS12},
				OnError:   func(err error) { pushErr = err }},
				fixedSource(literalSnapshot(t)))
			if err != nil {
				t.Fatal(err)
			}
			o.PushOnce(ctx)
			st := o.Stats()
			if tc.wantErr == "" {
				if st.Pushes != 1 || st.Failures != 0 || pushErr != nil {
					t.Fatalf("stats %+v, err %v; server log: %s", st, pushErr, rcv.errLog.String())
				}
				reqs := rcv.wait(t, 1)
				if sm := reqs[0].ResourceMetrics[0].ScopeMetrics; len(sm) == 0 || len(sm[0].Metrics) == 0 {
					t.Fatalf("empty request %v", reqs[0])
				}
				rcv.mu.Lock()
				peers := append([]string(nil), rcv.peers...)
				rcv.mu.Unlock()
				if len(peers) != 1 || peers[0] != "visor-agent" {
					t.Errorf("server saw client certificates %v", peers)
				}
				return
			}
			if st.Pushes != 0 || st.Failures != 1 || pushErr == nil {
				t.Fatalf("stats %+v, err %v: want a failed push", st, pushErr)
			}
			msg := pushErr.Error()
			// The error names the receiver and the TLS reason, so the log
			// line alone tells an operator what to fix.
			if !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, rcv.srv.Listener.Addr().String()) {
				t.Errorf("push error %q, want it to name %s and say %q", msg, rcv.srv.Listener.Addr(), tc.wantErr)
			}
			if n := rcv.received(); n != 0 {
				t.Errorf("receiver accepted %d requests without a valid client certificate", n)
			}
			// The server refused in the handshake, before any handler ran;
			// it logs that after sending the alert, hence the short wait.
			deadline := time.Now().Add(2 * time.Second)
			for !strings.Contains(rcv.errLog.String(), "TLS handshake error") {
				if time.Now().After(deadline) {
					t.Fatalf("server log %q: want a handshake rejection", rcv.errLog.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
