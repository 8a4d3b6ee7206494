package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
)

func testClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	return New(Options{Host: u.Hostname(), Port: port})
}

func TestPeriodRange(t *testing.T) {
	for _, tc := range []struct {
		msg    string
		lo, hi int
		ok     bool
	}{
		{"invalid metrics period, specify [2, 3]", 2, 3, true},
		{"x invalid metrics period, specify [0, 10] y", 0, 10, true},
		{"requested metrics period has not yet accumulated, current range is [0, 1]", 0, 0, false},
		{"invalid metrics period, specify [2, 99999999999999999999]", 0, 0, false},
	} {
		lo, hi, ok := PeriodRange(tc.msg)
		if lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("%q: %d %d %v", tc.msg, lo, hi, ok)
		}
	}
}

// The agent keeps 3 periods: the first poll (5) gets a 425 naming [2, 3];
// the poller switches to 3 and the retry succeeds.
func TestPollerNegotiatesPeriod(t *testing.T) {
	var asked []string
	c := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		if r.URL.Path != "/api/v1/policies/default/metrics/window/3" {
			w.WriteHeader(http.StatusTooEarly)
			_, _ = w.Write([]byte(`{"error": "invalid metrics period, specify [2, 3]"}`))
			return
		}
		_, _ = w.Write([]byte(`{"default": {}}`))
	}))
	p := Poller{C: c}
	ctx := context.Background()
	if _, err := p.Poll(ctx, "default"); !errors.Is(err, ErrRenegotiated) {
		t.Fatalf("first poll: %v", err)
	}
	if p.Periods() != 3 {
		t.Fatalf("periods %d", p.Periods())
	}
	body, err := p.Poll(ctx, "default")
	if err != nil || string(body) != `{"default": {}}` {
		t.Fatalf("second poll: %q %v", body, err)
	}
	want := []string{"/api/v1/policies/default/metrics/window/5", "/api/v1/policies/default/metrics/window/3"}
	if len(asked) != 2 || asked[0] != want[0] || asked[1] != want[1] {
		t.Fatalf("asked %v", asked)
	}
	p.Reset()
	if p.Periods() != DefaultPeriods {
		t.Fatal("reset")
	}
}

// A 425 that does not name a new range is an error for the operator, not a
// negotiation loop.
func TestPollerUnnegotiable425(t *testing.T) {
	c := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTooEarly)
		_, _ = w.Write([]byte(`{"error": "invalid metrics period, specify [2, 5]"}`))
	}))
	p := Poller{C: c}
	_, err := p.Poll(context.Background(), "default")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 425 || ae.Text() != "invalid metrics period, specify [2, 5]" {
		t.Fatalf("%v", err)
	}
}

func TestAPIErrorsAndPolicies(t *testing.T) {
	c := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/policies":
			_, _ = w.Write([]byte(`{"b": {}, "a": {}, "default-resources": {}}`))
		case "/api/v1/metrics/app":
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`not json`))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error": "policy does not exist"}`))
		}
	}))
	ctx := context.Background()
	names, err := c.Policies(ctx)
	if err != nil || len(names) != 3 || names[0] != "a" || names[2] != "default-resources" {
		t.Fatalf("%v %v", names, err)
	}
	_, err = c.App(ctx)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode() != 500 || ae.Message != "" || ae.Error() != "agent answered HTTP 500" {
		t.Fatalf("%v", err)
	}
	_, err = c.Window(ctx, "nope", 5)
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "policy does not exist" {
		t.Fatalf("%v", err)
	}
}

func TestNewBaseURL(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "http://localhost:10853"},
		{Options{Host: "::1", Port: 1, TLS: true}, "https://[::1]:1"},
		{Options{Host: "node-7", Port: 8080}, "http://node-7:8080"},
	} {
		if got := New(tc.o).Base(); got != tc.want {
			t.Errorf("%+v: %s", tc.o, got)
		}
	}
}

func FuzzPeriodRange(f *testing.F) {
	f.Add("invalid metrics period, specify [2, 5]")
	f.Add("invalid metrics period, specify [0, 99999999999999999999999]")
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, ok := PeriodRange(s)
		if !ok && (lo != 0 || hi != 0) {
			t.Fatalf("%q: values without ok", s)
		}
		if ok && (lo < 0 || hi < 0) {
			t.Fatalf("%q: negative range", s)
		}
	})
}

// TLS: --tls-noverify accepts a self-signed agent; without it the
// certificate error is what the operator gets.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"app": {"version": "4.0.0"}}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	ctx := context.Background()
	if _, err := New(Options{Host: u.Hostname(), Port: port, TLS: true, TLSNoVerify: true}).App(ctx); err != nil {
		t.Fatalf("noverify: %v", err)
	}
	_, err := New(Options{Host: u.Hostname(), Port: port, TLS: true}).App(ctx)
	var ce *tls.CertificateVerificationError
	if !errors.As(err, &ce) {
		t.Fatalf("verify: %v", err)
	}
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	u, _ = url.Parse(plain.URL)
	port, _ = strconv.Atoi(u.Port())
	if _, err := New(Options{Host: u.Hostname(), Port: port, TLS: true}).App(ctx); err == nil {
		t.Fatal("TLS to a plain server succeeded")
	} else {
		t.Log(err)
	}
}
