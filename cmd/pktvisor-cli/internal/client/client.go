// Package client fetches what pktvisor-cli shows from an agent's REST API:
// app info, the policy list and a policy's merged window. It only fetches;
// parsing the metrics is the model's job.
package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Timeout is pktvisor-cli's per-request HTTP timeout.
const Timeout = 5 * time.Second

// maxBody bounds a response; a window of every handler is tens of KiB.
const maxBody = 16 << 20

// APIError is a non-2xx answer from the agent, with pktvisor's
// {"error": "..."} message when the body carried one.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("agent answered HTTP %d", e.Status)
	}
	return fmt.Sprintf("agent answered HTTP %d: %s", e.Status, e.Message)
}

// Client talks to one agent.
type Client struct {
	base string
	hc   *http.Client
}

// Options select the agent and transport.
type Options struct {
	Host        string
	Port        int
	TLS         bool
	TLSNoVerify bool
}

// New builds a client for opts.
func New(opts Options) *Client {
	scheme := "http"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.TLS {
		scheme = "https"
		// The agent's certificate is often self-signed on a node; the user
		// opts out of verification explicitly with --tls-noverify.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: opts.TLSNoVerify} //nolint:gosec
	}
	u := url.URL{Scheme: scheme, Host: netJoin(opts.Host, opts.Port)}
	return &Client{base: u.String(), hc: &http.Client{Timeout: Timeout, Transport: tr}}
}

func netJoin(host string, port int) string {
	if port == 0 {
		port = 10853
	}
	if host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Base is the agent's base URL, for messages.
func (c *Client) Base() string { return c.base }

// get fetches path and returns the body of a 2xx answer.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build request %s: %w", path, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil {
			ae.Message = e.Error
		}
		return nil, ae
	}
	return body, nil
}

// App returns the raw /api/v1/metrics/app answer.
func (c *Client) App(ctx context.Context) ([]byte, error) {
	return c.get(ctx, "/api/v1/metrics/app")
}

// Window returns the raw merged window n of a policy.
func (c *Client) Window(ctx context.Context, policy string, n int) ([]byte, error) {
	return c.get(ctx, "/api/v1/policies/"+url.PathEscape(policy)+"/metrics/window/"+strconv.Itoa(n))
}

// Policies lists the agent's policy names, sorted.
func (c *Client) Policies(ctx context.Context) ([]string, error) {
	body, err := c.get(ctx, "/api/v1/policies")
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode policy list: %w", err)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

var periodRE = regexp.MustCompile(`invalid metrics period, specify \[(\d+), (\d+)\]`)

// PeriodRange extracts [lo, hi] from pktvisor's period error text.
func PeriodRange(msg string) (lo, hi int, ok bool) {
	m := periodRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(m[1])
	hi, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return lo, hi, true
}

// DefaultPeriods is the window pktvisor-cli asks for first.
const DefaultPeriods = 5

// Poller asks for a policy's window and follows pktvisor-cli's period
// negotiation: a 425 naming the valid range switches the window size to its
// upper bound for the next poll.
type Poller struct {
	C       *Client
	periods int
}

// Periods is the window size the next poll asks for.
func (p *Poller) Periods() int {
	if p.periods == 0 {
		return DefaultPeriods
	}
	return p.periods
}

// Reset returns to the default window size (after switching policy).
func (p *Poller) Reset() { p.periods = 0 }

// Poll fetches the window of policy. On a negotiable 425 it adjusts the
// size and returns ErrRenegotiated so the caller keeps the last screen.
func (p *Poller) Poll(ctx context.Context, policy string) ([]byte, error) {
	body, err := p.C.Window(ctx, policy, p.Periods())
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusTooEarly {
		if _, hi, ok := PeriodRange(ae.Message); ok && hi != p.Periods() {
			p.periods = hi
			return nil, fmt.Errorf("window %d: %w", hi, ErrRenegotiated)
		}
	}
	return body, err
}

// ErrRenegotiated reports that the window size changed and the poll should
// simply be retried on the next tick.
var ErrRenegotiated = errors.New("metrics period renegotiated")

// StatusCode and Text let callers classify the error without importing
// this package.
func (e *APIError) StatusCode() int { return e.Status }

// Text is the agent's error message.
func (e *APIError) Text() string { return e.Message }
