// Package enrich maps addresses to geo locations and ASNs (MaxMind DB files)
// and ports to IANA service names, for the net, dns and flow handlers.
package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/visorng/visor/agent/handler"
)

// Unknown is what a lookup returns for an address the database lacks.
const Unknown = "Unknown"

type cityRecord struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	Number uint   `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// dbs is one generation of loaded databases; Reload swaps it atomically so
// lookups never block on a reload.
type dbs struct {
	city, asn         *maxminddb.Reader
	cityPath, asnPath string
	cityCache         *lru.Cache[netip.Addr, handler.Location]
	asnCache          *lru.Cache[netip.Addr, string]
}

// Geo answers geo and ASN lookups. It is safe for concurrent use.
type Geo struct {
	cur       atomic.Pointer[dbs]
	cacheSize int
	reloadMu  sync.Mutex
}

var _ handler.Enricher = (*Geo)(nil)

// OpenGeo opens the City and ASN databases (either may be empty). cacheSize
// is the LRU size per database; 0 disables caching.
func OpenGeo(cityPath, asnPath string, cacheSize int) (*Geo, error) {
	g := &Geo{cacheSize: cacheSize}
	d, err := g.open(cityPath, asnPath)
	if err != nil {
		return nil, err
	}
	g.cur.Store(d)
	return g, nil
}

func (g *Geo) open(cityPath, asnPath string) (*dbs, error) {
	d := &dbs{cityPath: cityPath, asnPath: asnPath}
	var err error
	if cityPath != "" {
		if d.city, err = maxminddb.Open(cityPath); err != nil {
			return nil, fmt.Errorf("geo city database %s: %w", cityPath, err)
		}
	}
	if asnPath != "" {
		if d.asn, err = maxminddb.Open(asnPath); err != nil {
			if d.city != nil {
				d.city.Close()
			}
			return nil, fmt.Errorf("geo asn database %s: %w", asnPath, err)
		}
	}
	if g.cacheSize > 0 {
		d.cityCache, _ = lru.New[netip.Addr, handler.Location](g.cacheSize)
		d.asnCache, _ = lru.New[netip.Addr, string](g.cacheSize)
	}
	return d, nil
}

// Reload reopens the same files (after they were replaced on disk) and
// swaps them in; lookups in flight finish on the old generation.
func (g *Geo) Reload() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	old := g.cur.Load()
	d, err := g.open(old.cityPath, old.asnPath)
	if err != nil {
		return err
	}
	g.cur.Store(d)
	// The mmap'd old readers may still be read by a concurrent lookup; they
	// are left to the garbage collector's finalizers rather than closed here.
	return nil
}

// Close releases the databases.
func (g *Geo) Close() error {
	d := g.cur.Load()
	return errors.Join(closeReader(d.city), closeReader(d.asn))
}

func closeReader(r *maxminddb.Reader) error {
	if r == nil {
		return nil
	}
	return r.Close()
}

// HasCity and HasASN report which databases are loaded.
func (g *Geo) HasCity() bool { return g.cur.Load().city != nil }
func (g *Geo) HasASN() bool  { return g.cur.Load().asn != nil }

// City returns the location string "continent/country/subdivision/city"
// with missing parts omitted, or Unknown; ok is false without a database.
func (g *Geo) City(a netip.Addr) (handler.Location, bool) {
	d := g.cur.Load()
	if d.city == nil {
		return handler.Location{}, false
	}
	a = a.Unmap()
	if d.cityCache != nil {
		if loc, ok := d.cityCache.Get(a); ok {
			return loc, true
		}
	}
	loc := lookupCity(d.city, a)
	if d.cityCache != nil {
		d.cityCache.Add(a, loc)
	}
	return loc, true
}

func lookupCity(r *maxminddb.Reader, a netip.Addr) handler.Location {
	res := r.Lookup(a)
	if !res.Found() {
		return handler.Location{Name: Unknown}
	}
	var rec cityRecord
	if err := res.Decode(&rec); err != nil {
		return handler.Location{Name: Unknown}
	}
	return formatCity(&rec)
}

func formatCity(rec *cityRecord) handler.Location {
	parts := make([]string, 0, 4)
	if rec.Continent.Code != "" {
		parts = append(parts, rec.Continent.Code)
	}
	if n := rec.Country.Names["en"]; n != "" {
		parts = append(parts, n)
	} else if rec.Country.ISOCode != "" {
		parts = append(parts, rec.Country.ISOCode)
	}
	if len(rec.Subdivisions) > 0 && rec.Subdivisions[0].ISOCode != "" {
		parts = append(parts, rec.Subdivisions[0].ISOCode)
	}
	if n := rec.City.Names["en"]; n != "" {
		parts = append(parts, n)
	}
	loc := handler.Location{Name: strings.Join(parts, "/")}
	if loc.Name == "" {
		loc.Name = Unknown
	}
	if rec.Location.Latitude != nil && rec.Location.Longitude != nil {
		loc.Lat = strconv.FormatFloat(*rec.Location.Latitude, 'f', 6, 64)
		loc.Lon = strconv.FormatFloat(*rec.Location.Longitude, 'f', 6, 64)
	}
	return loc
}

// ASN returns "number/organisation", or Unknown; ok is false without a
// database.
func (g *Geo) ASN(a netip.Addr) (string, bool) {
	d := g.cur.Load()
	if d.asn == nil {
		return "", false
	}
	a = a.Unmap()
	if d.asnCache != nil {
		if s, ok := d.asnCache.Get(a); ok {
			return s, true
		}
	}
	s := Unknown
	if res := d.asn.Lookup(a); res.Found() {
		var rec asnRecord
		if err := res.Decode(&rec); err == nil && rec.Number != 0 {
			s = strconv.FormatUint(uint64(rec.Number), 10) + "/" + rec.Org
		}
	}
	if d.asnCache != nil {
		d.asnCache.Add(a, s)
	}
	return s, true
}
