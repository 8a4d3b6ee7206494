package export

import (
	"context"
	"crypto/tls"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visorng/visor/test/pki"
)

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

func newMTLSReceiver(t *testing.T, ca *pki.CA) *mtlsReceiver {
	t.Helper()
	serverCert := ca.Server(t, "127.0.0.1").TLS(t)
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
		ClientCAs:    ca.Pool(),
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
	ca := pki.NewCA(t, "visor test CA")
	rogue := pki.NewCA(t, "rogue CA")
	// Loaded from files, as --otel-tls-cert/--otel-tls-key load them.
	loadPair := func(ca *pki.CA) []tls.Certificate {
		c, k := ca.Client(t, "visor-agent").WriteFiles(t, t.TempDir())
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
				TLSConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: tc.certs, MinVersion: tls.VersionTLS12},
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
