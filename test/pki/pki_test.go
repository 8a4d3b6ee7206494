package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// handshake runs one mutual-TLS handshake over loopback between a server
// holding server and trusting clientCA, and a client trusting serverCA
// that presents client no matter what CAs the server asks for (crypto/tls
// would otherwise quietly send nothing). It returns the server's verdict
// and the client identity the server saw.
func handshake(t *testing.T, server tls.Certificate, clientCA, serverCA *CA, serverName string, client tls.Certificate) (peer string, err error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	type result struct {
		peer string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{server},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool(), MinVersion: tls.VersionTLS12})
		if err := s.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		// Tell the client the handshake stood; under TLS 1.3 its own
		// Handshake returns before the server has judged its certificate.
		_, err = s.Write([]byte{1})
		done <- result{peer: s.ConnectionState().PeerCertificates[0].Subject.CommonName, err: err}
	}()

	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{RootCAs: serverCA.Pool(), ServerName: serverName,
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &client, nil }})
	// Under TLS 1.2 a refused client fails here already; either way the
	// server's verdict is what the test is about.
	if err == nil {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 1))
	}
	r := <-done
	return r.peer, r.err
}

func TestMutualTLS(t *testing.T) {
	ca := NewCA(t, "pki test CA")
	server := ca.Server(t, "127.0.0.1", "localhost").TLS(t)
	for _, name := range []string{"127.0.0.1", "localhost"} {
		t.Run("server name "+name, func(t *testing.T) {
			peer, err := handshake(t, server, ca, ca, name, ca.Client(t, "node-1").TLS(t))
			if err != nil || peer != "node-1" {
				t.Fatalf("server saw %q, %v; want node-1 accepted", peer, err)
			}
		})
	}
	t.Run("client from another CA", func(t *testing.T) {
		rogue := NewCA(t, "rogue CA").Client(t, "intruder").TLS(t)
		_, err := handshake(t, server, ca, ca, "127.0.0.1", rogue)
		if !errors.As(err, new(x509.UnknownAuthorityError)) {
			t.Fatalf("server verdict %v, want an unknown-authority refusal", err)
		}
	})
}

// Certificates must land in the SAN kind crypto/tls matches them against,
// and client leaves must not pass as server leaves.
func TestLeaves(t *testing.T) {
	ca := NewCA(t, "pki test CA")
	srv, err := x509.ParseCertificate(ca.Server(t, "::1", "example.test").TLS(t).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.IPAddresses) != 1 || !srv.IPAddresses[0].Equal(net.IPv6loopback) ||
		len(srv.DNSNames) != 1 || srv.DNSNames[0] != "example.test" {
		t.Errorf("SANs ip %v dns %v", srv.IPAddresses, srv.DNSNames)
	}
	cli, err := x509.ParseCertificate(ca.Client(t, "node-1").TLS(t).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client leaf as client: %v", err)
	}
	if _, err := cli.Verify(x509.VerifyOptions{Roots: ca.Pool()}); err == nil {
		t.Error("client leaf verified as a server certificate")
	}
}

// Pairs written to one dir do not overwrite each other, load back as a
// key pair, and the key is readable by its owner only.
func TestWriteFiles(t *testing.T) {
	ca := NewCA(t, "pki test CA")
	dir := t.TempDir()
	c1, k1 := ca.Client(t, "a").WriteFiles(t, dir)
	c2, k2 := ca.Client(t, "b").WriteFiles(t, dir)
	if c1 == c2 || k1 == k2 || filepath.Dir(c1) != dir || filepath.Dir(k2) != dir {
		t.Fatalf("files %s %s %s %s in %s", c1, k1, c2, k2, dir)
	}
	for _, f := range [][2]string{{c1, k1}, {c2, k2}} {
		if _, err := tls.LoadX509KeyPair(f[0], f[1]); err != nil {
			t.Errorf("load %s: %v", f, err)
		}
		st, err := os.Stat(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f[1], st.Mode().Perm())
		}
	}
	if _, err := tls.LoadX509KeyPair(c1, k2); err == nil {
		t.Error("cert of one pair loaded with the key of another")
	}
}
