package handler

import "net/netip"

// Location is a geo lookup result in pktvisor's string form.
type Location struct {
	// Name is "continent/country/subdivision/city" with missing parts
	// omitted, or "Unknown".
	Name     string
	Lat, Lon string
}

// Enricher looks up remote addresses. Implementations are safe for
// concurrent use and return ok=false when the respective database is not
// loaded (as opposed to "Unknown" when the address is not found).
type Enricher interface {
	City(a netip.Addr) (loc Location, ok bool)
	ASN(a netip.Addr) (asn string, ok bool)
}

// ServiceNamer renders a transport port as a service name (IANA registry).
type ServiceNamer interface {
	// ServiceName returns the name for port over IP protocol proto (6 or
	// 17), or the port in decimal.
	ServiceName(proto uint8, port uint16) string
}
