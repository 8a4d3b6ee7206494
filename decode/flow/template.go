package flow

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Defaults for TemplateCache bounds. A template of MaxTemplateFields fields
// costs about 2 KiB, so the defaults bound template memory near 16 MiB
// whatever an exporter (or a spoofer) sends.
const (
	DefaultTemplateTTL          = 30 * time.Minute
	DefaultTemplatesPerExporter = 1024
	DefaultTemplatesTotal       = 8192
	MaxTemplateFields           = 512
)

// templateKey identifies a template. pktvisor keys its cache by (source id,
// template id) for the whole process (quirk 9), so two exporters that reuse
// a template id overwrite each other's layout; we add the exporter address
// and the protocol version.
type templateKey struct {
	exporter netip.Addr
	domain   uint32
	id       uint16
	version  uint16
}

// field is one template field, resolved to what we do with it.
type field struct {
	length uint16 // 0xffff: variable length (IPFIX)
	target uint8  // one of the tgt* constants; tgtSkip for everything else
}

// template is immutable once published, so decoders use it without holding
// the cache lock.
type template struct {
	fields   []field
	options  bool // options template: its data records are not flows
	minLen   int  // bytes of a record, counting each variable field as 1
	variable bool
}

type entry struct {
	key    templateKey
	t      *template
	seen   time.Time
	global *list.Element // in TemplateCache.order
	perExp *list.Element // in exporterState.order
}

type exporterState struct {
	order *list.List // of *entry, least recently (re)sent first
}

// TemplateStats are cumulative counters of a TemplateCache.
type TemplateStats struct {
	Templates uint64 // currently cached
	Added     uint64 // new or changed templates stored
	Refreshed uint64 // identical templates re-sent
	Withdrawn uint64 // IPFIX template withdrawals honoured
	Expired   uint64 // dropped for not being re-sent within the TTL
	Evicted   uint64 // dropped to stay within the per-exporter or total bound
	Rejected  uint64 // malformed or oversized templates not stored
}

// TemplateCache holds NetFlow v9 and IPFIX templates per exporter address,
// observation domain (source id) and template id, with expiry and bounds on
// templates per exporter and in total. It is safe for concurrent use by the
// decoders of several sockets.
type TemplateCache struct {
	ttl                time.Duration
	perExporter, total int

	mu        sync.RWMutex
	entries   map[templateKey]*entry
	exporters map[netip.Addr]*exporterState
	order     *list.List // all entries, least recently (re)sent first
	stats     TemplateStats
}

// NewTemplateCache returns a cache; zero or negative arguments take the
// defaults.
func NewTemplateCache(ttl time.Duration, perExporter, total int) *TemplateCache {
	if ttl <= 0 {
		ttl = DefaultTemplateTTL
	}
	if perExporter <= 0 {
		perExporter = DefaultTemplatesPerExporter
	}
	if total <= 0 {
		total = DefaultTemplatesTotal
	}
	return &TemplateCache{
		ttl: ttl, perExporter: perExporter, total: total,
		entries:   make(map[templateKey]*entry),
		exporters: make(map[netip.Addr]*exporterState),
		order:     list.New(),
	}
}

// Stats returns a snapshot of the counters.
func (c *TemplateCache) Stats() TemplateStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.stats
	s.Templates = uint64(len(c.entries))
	return s
}

// Len reports how many templates one exporter has cached.
func (c *TemplateCache) Len(exporter netip.Addr) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.exporters[exporter]; e != nil {
		return e.order.Len()
	}
	return 0
}

// get returns the template for k unless it is missing or expired.
func (c *TemplateCache) get(k templateKey, now time.Time) *template {
	c.mu.RLock()
	e := c.entries[k]
	var t *template
	if e != nil && now.Sub(e.seen) <= c.ttl {
		t = e.t
	}
	c.mu.RUnlock()
	return t
}

// put stores fields as template k. A template identical to the cached one
// only refreshes its time, without allocating.
func (c *TemplateCache) put(k templateKey, fields []field, options bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[k]; e != nil {
		if e.t.options == options && sameFields(e.t.fields, fields) {
			e.seen = now
			c.order.MoveToBack(e.global)
			c.exporters[k.exporter].order.MoveToBack(e.perExp)
			c.stats.Refreshed++
			return
		}
		c.remove(e)
	}
	c.expire(now)
	exp := c.exporters[k.exporter]
	if exp == nil {
		exp = &exporterState{order: list.New()}
		c.exporters[k.exporter] = exp
	}
	for exp.order.Len() >= c.perExporter {
		c.remove(exp.order.Front().Value.(*entry))
		c.stats.Evicted++
	}
	for len(c.entries) >= c.total {
		c.remove(c.order.Front().Value.(*entry))
		c.stats.Evicted++
	}
	// remove may have dropped exp when it emptied.
	if c.exporters[k.exporter] == nil {
		c.exporters[k.exporter] = exp
	}
	t := &template{fields: append([]field(nil), fields...), options: options}
	for _, f := range t.fields {
		if f.length == 0xffff {
			t.variable = true
			t.minLen++
		} else {
			t.minLen += int(f.length)
		}
	}
	e := &entry{key: k, t: t, seen: now}
	e.global = c.order.PushBack(e)
	e.perExp = exp.order.PushBack(e)
	c.entries[k] = e
	c.stats.Added++
}

// withdraw removes template k (IPFIX template withdrawal).
func (c *TemplateCache) withdraw(k templateKey) {
	c.mu.Lock()
	if e := c.entries[k]; e != nil {
		c.remove(e)
		c.stats.Withdrawn++
	}
	c.mu.Unlock()
}

func (c *TemplateCache) reject() {
	c.mu.Lock()
	c.stats.Rejected++
	c.mu.Unlock()
}

// expire drops templates not re-sent within the TTL. The global order is by
// last (re)send, so only the expired prefix is visited.
func (c *TemplateCache) expire(now time.Time) {
	for f := c.order.Front(); f != nil; f = c.order.Front() {
		e := f.Value.(*entry)
		if now.Sub(e.seen) <= c.ttl {
			return
		}
		c.remove(e)
		c.stats.Expired++
	}
}

// Expire drops every template not re-sent within the TTL before now; the
// input calls it periodically so idle exporters' templates are freed.
func (c *TemplateCache) Expire(now time.Time) {
	c.mu.Lock()
	c.expire(now)
	c.mu.Unlock()
}

func (c *TemplateCache) remove(e *entry) {
	delete(c.entries, e.key)
	c.order.Remove(e.global)
	if exp := c.exporters[e.key.exporter]; exp != nil {
		exp.order.Remove(e.perExp)
		if exp.order.Len() == 0 {
			delete(c.exporters, e.key.exporter)
		}
	}
}

func sameFields(a, b []field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
