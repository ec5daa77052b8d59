package recursive

import (
	"container/list"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// CacheOptions bound the cache. The zero value gives the defaults.
type CacheOptions struct {
	// MaxEntries bounds the number of RRsets (and negative entries); 20000
	// when zero.
	MaxEntries int
	// MaxBytes bounds their estimated size; 16 MiB when zero. Least
	// recently used entries go first when either bound is reached.
	MaxBytes int
	// MinTTL and MaxTTL clamp positive TTLs; 5 s and one day when zero.
	MinTTL time.Duration
	MaxTTL time.Duration
	// MaxNegativeTTL caps NXDOMAIN/NODATA caching (RFC 2308 section 5);
	// 3 hours when zero.
	MaxNegativeTTL time.Duration
	// StaleTTL is how long expired data may still be served when every
	// upstream fails (RFC 8767); one day when zero, negative disables.
	StaleTTL time.Duration
}

func (o *CacheOptions) defaults() {
	if o.MaxEntries == 0 {
		o.MaxEntries = 20000
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 16 << 20
	}
	if o.MinTTL == 0 {
		o.MinTTL = 5 * time.Second
	}
	if o.MaxTTL == 0 {
		o.MaxTTL = 24 * time.Hour
	}
	if o.MaxNegativeTTL == 0 {
		o.MaxNegativeTTL = 3 * time.Hour
	}
	if o.StaleTTL == 0 {
		o.StaleTTL = 24 * time.Hour
	}
	if o.StaleTTL < 0 {
		o.StaleTTL = 0
	}
}

// trust ranks where data came from (RFC 2181 section 5.4.1, simplified):
// data of a lower rank never replaces live data of a higher one, and only
// authoritative answers are given to clients.
type trust uint8

const (
	trustGlue     trust = iota + 1 // additional section of a referral
	trustReferral                  // NS set of a referral
	trustAnswer                    // answer or negative answer of the zone's servers
)

// staleTTL is the TTL of stale data given to clients (RFC 8767 section 4).
const staleTTL = 30

// typeNXDOMAIN keys the entry saying that a name does not exist at all.
// It lies outside the range of DNS types, so no question can reach it.
const typeNXDOMAIN = -1

type cacheKey struct {
	name  string // canonical
	qtype int32  // a DNS type, or typeNXDOMAIN
}

func keyOf(name string, qtype uint16) cacheKey { return cacheKey{name, int32(qtype)} }

// cacheEntry is immutable once stored: a new answer makes a new entry.
type cacheEntry struct {
	key      cacheKey
	rrs      []dns.RR // positive entries
	soa      *dns.SOA // negative entries, when the answer had one
	negative bool
	trust    trust
	expires  time.Time
	size     int
	elem     *list.Element
}

// cache is an LRU cache of RRsets and negative answers.
type cache struct {
	opts CacheOptions

	// mu protects the fields below.
	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	lru     *list.List // of *cacheEntry, most recent at the front
	bytes   int
}

func newCache(o CacheOptions) *cache {
	o.defaults()
	return &cache{opts: o, entries: map[cacheKey]*cacheEntry{}, lru: list.New()}
}

// putRRset stores a positive RRset; its TTL is the smallest of the set,
// clamped to [MinTTL, MaxTTL].
func (c *cache) putRRset(rrs []dns.RR, t trust, now time.Time) {
	if len(rrs) == 0 {
		return
	}
	h := rrs[0].Header()
	ttl := h.Ttl
	for _, rr := range rrs {
		ttl = min(ttl, rr.Header().Ttl)
	}
	d := clamp(time.Duration(ttl)*time.Second, c.opts.MinTTL, c.opts.MaxTTL)
	stored := make([]dns.RR, len(rrs))
	size := 64
	for i, rr := range rrs {
		stored[i] = dns.Copy(rr)
		stored[i].Header().Name = dns.CanonicalName(rr.Header().Name)
		size += dns.Len(rr) + len(rr.Header().Name) + 48
	}
	k := keyOf(dns.CanonicalName(h.Name), h.Rrtype)
	c.put(&cacheEntry{key: k, rrs: stored, trust: t, expires: now.Add(d), size: size}, now)
	if t == trustAnswer {
		c.remove(cacheKey{k.name, typeNXDOMAIN})
	}
}

// putNegative stores NXDOMAIN (qtype typeNXDOMAIN) or NODATA for name.
// Without an SOA there is no negative TTL, and nothing is stored (RFC 2308
// section 5).
func (c *cache) putNegative(name string, qtype int32, soa *dns.SOA, now time.Time) {
	if soa == nil {
		return
	}
	ttl := min(soa.Hdr.Ttl, soa.Minttl)
	d := clamp(time.Duration(ttl)*time.Second, c.opts.MinTTL, c.opts.MaxNegativeTTL)
	s := dns.Copy(soa).(*dns.SOA)
	s.Hdr.Name = dns.CanonicalName(s.Hdr.Name)
	k := cacheKey{dns.CanonicalName(name), qtype}
	c.put(&cacheEntry{key: k, soa: s, negative: true, trust: trustAnswer, expires: now.Add(d), size: 64 + dns.Len(s) + len(name)}, now)
}

func (c *cache) put(e *cacheEntry, now time.Time) {
	if e.size > c.opts.MaxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[e.key]; old != nil {
		if old.trust > e.trust && now.Before(old.expires) {
			return
		}
		c.unlink(old)
	}
	e.elem = c.lru.PushFront(e)
	c.entries[e.key] = e
	c.bytes += e.size
	for (len(c.entries) > c.opts.MaxEntries || c.bytes > c.opts.MaxBytes) && c.lru.Len() > 0 {
		c.unlink(c.lru.Back().Value.(*cacheEntry))
	}
}

// get returns the entry for k if it is live, or, with stale, expired less
// than StaleTTL ago, and of trust at least minTrust.
func (c *cache) get(k cacheKey, now time.Time, minTrust trust, stale bool) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[k]
	if e == nil {
		return nil
	}
	if now.After(e.expires.Add(c.opts.StaleTTL)) {
		c.unlink(e)
		return nil
	}
	if e.trust < minTrust || (!stale && !now.Before(e.expires)) {
		return nil
	}
	c.lru.MoveToFront(e.elem)
	return e
}

// nxdomain returns the NXDOMAIN entry of name or of an ancestor: nothing
// exists below a name that does not exist (RFC 8020).
func (c *cache) nxdomain(name string, now time.Time, stale bool) *cacheEntry {
	for {
		if e := c.get(cacheKey{name, typeNXDOMAIN}, now, trustAnswer, stale); e != nil {
			return e
		}
		p, ok := parent(name)
		if !ok {
			return nil
		}
		name = p
	}
}

func (c *cache) remove(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[k]; e != nil {
		c.unlink(e)
	}
}

// unlink drops e. Called with mu held.
func (c *cache) unlink(e *cacheEntry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// stats returns the number of entries and their estimated size.
func (c *cache) stats() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}

// records returns copies of e's records with the TTL left at now (staleTTL
// for expired data).
func (e *cacheEntry) records(now time.Time) []dns.RR {
	ttl := e.ttlAt(now)
	out := make([]dns.RR, len(e.rrs))
	for i, rr := range e.rrs {
		out[i] = dns.Copy(rr)
		out[i].Header().Ttl = ttl
	}
	return out
}

func (e *cacheEntry) soaRecord(now time.Time) []dns.RR {
	if e.soa == nil {
		return nil
	}
	s := dns.Copy(e.soa)
	s.Header().Ttl = e.ttlAt(now)
	return []dns.RR{s}
}

func (e *cacheEntry) ttlAt(now time.Time) uint32 {
	if !now.Before(e.expires) {
		return staleTTL
	}
	return uint32(e.expires.Sub(now) / time.Second)
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(d, hi))
}
