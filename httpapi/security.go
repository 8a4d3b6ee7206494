package httpapi

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrAdminExposed is returned by CheckAdminExposure.
var ErrAdminExposed = errors.New("refusing to serve the admin API on a non-loopback address without TLS and a token (use --admin-api-insecure to override)")

// IsLoopback reports whether a bind host only accepts local connections.
// Names other than localhost are treated as non-loopback: what they
// resolve to can change.
func IsLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// CheckAdminExposure refuses an admin API reachable from other hosts
// unless it is protected by TLS and a bearer token, or the operator said
// --admin-api-insecure. pktvisor's admin API has no authentication at all,
// so anyone who reaches the port can start captures.
func CheckAdminExposure(host string, admin, tls, token, insecure bool) error {
	if !admin || insecure || IsLoopback(host) || tls && token {
		return nil
	}
	return ErrAdminExposed
}
