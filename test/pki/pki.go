// Package pki issues throwaway certificates for tests that need TLS or
// mutual TLS: a private CA, server and client leaves signed by it, and the
// PEM files that pktvisord's --tls-* and --otel-tls-* flags point at.
//
// Everything is ECDSA P-256, because it is the cheapest key the standard
// library generates and every TLS stack accepts it, and every certificate is
// valid from an hour before to an hour after it is made, so clock skew
// between issuing and checking never matters and a leaked file is useless
// soon after. Keys never leave memory unless a test writes them on purpose.
// Failures stop the test through testing.TB, since a test cannot go on
// without its certificates.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// validity is how far either side of now a certificate is valid.
const validity = time.Hour

// CA is a certificate authority private to one test. Tests that need a
// certificate the peer must refuse make a second CA.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA named name; the name only shows up in
// handshake errors, so make it say which CA a test meant.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-validity),
		NotAfter:              time.Now().Add(validity),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("pki: create CA %q: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("pki: parse CA %q: %v", name, err)
	}
	return &CA{cert: cert, key: key}
}

// Pool returns a new pool trusting only this CA, for a client's RootCAs or
// a server's ClientCAs. It is a fresh pool each time so that a test adding
// to it cannot change what another config trusts.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// PEM is the CA's certificate, PEM encoded, for a program that reads the
// CAs it trusts from a file.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// Server issues a server leaf for hosts. Each host that parses as an IP
// address goes into the IP SANs, the rest into the DNS SANs, because
// crypto/tls matches an IP only against IP SANs. The first host is also
// the subject's common name, for readable errors; nothing verifies it.
func (ca *CA) Server(t testing.TB, hosts ...string) Pair {
	t.Helper()
	if len(hosts) == 0 {
		t.Fatal("pki: a server certificate needs at least one host")
	}
	tmpl := ca.template(t, hosts[0], x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.sign(t, tmpl)
}

// Client issues a client leaf; servers see commonName as the peer's
// identity, so tests can check which certificate reached them.
func (ca *CA) Client(t testing.TB, commonName string) Pair {
	t.Helper()
	return ca.sign(t, ca.template(t, commonName, x509.ExtKeyUsageClientAuth))
}

func (ca *CA) template(t testing.TB, cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-validity),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func (ca *CA) sign(t testing.TB, tmpl *x509.Certificate) Pair {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("pki: sign %q: %v", tmpl.Subject.CommonName, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("pki: marshal key of %q: %v", tmpl.Subject.CommonName, err)
	}
	return Pair{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
}

// Pair is a leaf certificate and its private key, PEM encoded as the files
// operators hand to pktvisord are; the key is PKCS#8 ("PRIVATE KEY"), the
// form most tools write today. Tests that need a broken pair combine the
// fields of different Pairs.
type Pair struct {
	Cert, Key []byte
}

// TLS returns the pair as a tls.Certificate for an in-process peer.
func (p Pair) TLS(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(p.Cert, p.Key)
	if err != nil {
		t.Fatalf("pki: load pair: %v", err)
	}
	return c
}

// WriteFiles writes the pair into dir (usually t.TempDir()) and returns
// the paths, for code under test that loads certificates from files. Names
// are unique, so several pairs may share a dir; both files are 0600, as a
// key file must be and as a cert file may be.
func (p Pair) WriteFiles(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	return writeTemp(t, dir, "*.crt", p.Cert), writeTemp(t, dir, "*.key", p.Key)
}

func writeTemp(t testing.TB, dir, pattern string, b []byte) string {
	t.Helper()
	f, err := os.CreateTemp(dir, pattern) // mode 0600
	if err != nil {
		t.Fatalf("pki: %v", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("pki: write %s: %v", f.Name(), err)
	}
	return f.Name()
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("pki: generate key: %v", err)
	}
	return k
}

// serial is random so that no two certificates a test sees share an
// issuer and serial number, which TLS stacks may treat as the same
// certificate.
func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("pki: serial: %v", err)
	}
	return n
}
