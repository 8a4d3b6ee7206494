package model

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// StatusError is the shape of the client's API error, declared here so the
// model does not import the client.
type StatusError interface {
	error
	StatusCode() int
	Text() string
}

// Problem turns a fetch error into one sentence an operator can act on,
// instead of the chain of wrapped errors.
func Problem(err error, agent, policy string) string {
	if err == nil {
		return ""
	}
	var se StatusError
	var ne net.Error
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &se):
		switch se.StatusCode() {
		case http.StatusNotFound:
			return fmt.Sprintf("Policy %q does not exist on %s — press p to pick another.", policy, agent)
		case http.StatusTooEarly:
			return fmt.Sprintf("Policy %q has no metrics for this window yet (%s).", policy, se.Text())
		}
		if se.Text() != "" {
			return fmt.Sprintf("Agent %s returned HTTP %d: %s", agent, se.StatusCode(), se.Text())
		}
		return fmt.Sprintf("Agent %s returned HTTP %d.", agent, se.StatusCode())
	case errors.As(err, &certErr):
		return fmt.Sprintf("Agent %s presented a certificate this host does not trust (self-signed? use --tls-noverify).", agent)
	case errors.As(err, &recordErr):
		return fmt.Sprintf("Agent %s does not speak TLS: drop --tls.", agent)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("Agent %s answers plain HTTP: drop --tls.", agent)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Agent unreachable: nothing listens at %s (is pktvisord running? check -H and -p).", agent)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("Agent unreachable: cannot resolve host %q.", dnsErr.Name)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("Agent %s did not answer within the timeout.", agent)
	}
	return fmt.Sprintf("Cannot read metrics from %s: %v", agent, err)
}
