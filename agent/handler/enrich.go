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
