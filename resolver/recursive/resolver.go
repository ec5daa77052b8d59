// Package recursive is the box's caching resolver for its LAN and for the
// box itself: iterative resolution from the root hints, or forwarding to
// configured resolvers, with local answers for LAN names and private zones.
//
// Implemented:
//   - RFC 1034/1035: iterative resolution from root hints, referrals,
//     CNAME chasing across zones (bounded, loops detected), TCP fallback on
//     truncation.
//   - RFC 2181 section 5.4.1: data is ranked (glue < referral NS <
//     authoritative answer); only answers are given to clients. Bailiwick:
//     records outside the zone of the server that sent them are dropped, and
//     glue is taken only for the referral's NS targets inside that zone.
//   - RFC 5452: a new UDP socket (random source port) and a random ID per
//     query; replies must match ID, address and question.
//   - RFC 2308: NXDOMAIN and NODATA are cached for the SOA's negative TTL;
//     RFC 8020: nothing exists below a cached NXDOMAIN.
//   - RFC 7816/9156: QNAME minimisation (one more label per query, QTYPE A
//     for the hidden part, at most 10 extra steps), stopping at NXDOMAIN.
//   - RFC 8767: serve-stale: expired data (up to StaleTTL old) is answered
//     with TTL 30 when every upstream fails.
//   - RFC 6891: EDNS0 with a 1232-byte buffer upstream and towards clients.
//   - RFC 6761, RFC 6303, RFC 8375: localhost, invalid, home.arpa and the
//     private and special reverse zones are answered locally (NXDOMAIN unless
//     a static LAN host matches), never sent upstream.
//
// Recursion is only for clients in the allowed prefixes (the LAN and
// loopback): every other client gets REFUSED. The cache is bounded in
// entries and bytes, least recently used first out.
//
// DNSSEC validation is a later step: the cache keys RRsets by name and
// type and keeps the ranking it would need, and DS queries would have to be
// sent to the parent side of a cut.
package recursive

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Options configure a Resolver. The zero value resolves from the IANA root
// servers on port 53.
type Options struct {
	// RootHints are the root servers; RootHints() when empty.
	RootHints []Hint
	// Port is the port of every server learned from hints and referrals; 53
	// when zero (tests use another).
	Port uint16
	// Transport sends queries; NetTransport when nil.
	Transport Transport
	// Now is the cache's clock; time.Now when nil.
	Now func() time.Time
	// Cache bounds the cache.
	Cache CacheOptions
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
	// QueryTimeout bounds one upstream query; 1.5 s when zero.
	QueryTimeout time.Duration
	// RequestTimeout bounds the resolution of one client question; 5 s
	// when zero.
	RequestTimeout time.Duration
	// MaxQueries bounds the upstream queries of one client question; 64
	// when zero.
	MaxQueries int
	// MaxConcurrent bounds the client questions resolved at once; beyond it
	// clients get SERVFAIL. 256 when zero.
	MaxConcurrent int
	// NoQNAMEMinimisation sends the full name to every server.
	NoQNAMEMinimisation bool
}

// Config is what changes with the settings.
type Config struct {
	// Allow are the client prefixes that may use recursion (the LAN and
	// loopback); everyone else is REFUSED.
	Allow []netip.Prefix
	// Hosts are static LAN names.
	Hosts []Host
	// Forwarders, when set, receive every question (with RD) instead of
	// the root servers.
	Forwarders []netip.AddrPort
}

// Host is a static LAN name and its addresses.
type Host struct {
	Name  string
	Addrs []netip.Addr
}

// Answer is a resolution's outcome.
type Answer struct {
	Rcode  int
	Answer []dns.RR // the CNAME chain, then the records asked for
	Ns     []dns.RR // the SOA of a negative answer
	// Stale is set when expired data was used because upstreams failed.
	Stale bool
}

// Resolver is a caching, iterating (or forwarding) resolver.
type Resolver struct {
	opts  Options
	log   *slog.Logger
	cache *cache
	slots chan struct{}

	// mu protects cfg and local.
	mu    sync.RWMutex
	cfg   Config
	local *localNames
}

// Limits of one resolution.
const (
	maxCNAME    = 8  // CNAMEs followed for one question
	maxSteps    = 40 // referrals and minimisation steps in one zone walk
	maxDepth    = 4  // nested lookups of name server addresses
	maxMinimise = 10 // extra labels revealed one at a time (RFC 9156 MAX_MINIMISE_COUNT)
	ednsSize    = 1232
)

var (
	errBudget    = errors.New("query budget exhausted")
	errNoServers = errors.New("no name server answered")
	errCNAMELoop = errors.New("CNAME chain too long or looping")
	errTooDeep   = errors.New("too many referrals")
	errQueryType = errors.New("query type cannot be resolved")
)

// askable reports whether a client may ask for qtype: not 0, not the
// meta types (OPT, TSIG, TKEY, transfers, MAILA/MAILB) that only make
// sense between two servers (RFC 6895 section 3.1).
func askable(qtype uint16) bool {
	switch qtype {
	case dns.TypeNone, dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeMAILA, dns.TypeMAILB:
		return false
	}
	return true
}

// New returns a resolver with an empty cache and no allowed clients.
func New(opts Options) *Resolver {
	if len(opts.RootHints) == 0 {
		opts.RootHints = RootHints()
	}
	if opts.Port == 0 {
		opts.Port = 53
	}
	if opts.Transport == nil {
		opts.Transport = NetTransport{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = 1500 * time.Millisecond
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.MaxQueries == 0 {
		opts.MaxQueries = 64
	}
	if opts.MaxConcurrent == 0 {
		opts.MaxConcurrent = 256
	}
	return &Resolver{
		opts:  opts,
		log:   opts.Logger,
		cache: newCache(opts.Cache),
		slots: make(chan struct{}, opts.MaxConcurrent),
		local: buildLocal(nil),
	}
}

// SetConfig replaces the allowed prefixes, static hosts and forwarders.
// The cache is kept.
func (r *Resolver) SetConfig(c Config) {
	local := buildLocal(c.Hosts)
	r.mu.Lock()
	r.cfg = c
	r.local = local
	r.mu.Unlock()
}

func (r *Resolver) config() (Config, *localNames) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg, r.local
}

// Allowed reports whether addr may use recursion.
func (r *Resolver) Allowed(addr netip.Addr) bool {
	cfg, _ := r.config()
	addr = addr.Unmap()
	for _, p := range cfg.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// CacheStats returns the number of cache entries and their estimated size.
func (r *Resolver) CacheStats() (entries, bytes int) { return r.cache.stats() }

// Resolve answers one question from the cache, by iteration, or through the
// forwarders, following CNAMEs. Local names are not consulted: ServeDNS
// does that.
func (r *Resolver) Resolve(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	if !askable(qtype) {
		return nil, errQueryType
	}
	st := &walk{budget: r.opts.MaxQueries, busy: map[string]bool{}}
	return r.resolve(ctx, st, 0, dns.CanonicalName(name), qtype)
}

// walk is the state shared by one client question and the nested lookups
// of name server addresses it needs.
type walk struct {
	budget int             // upstream queries left
	busy   map[string]bool // name servers whose address is being looked up
	stale  bool            // some data came from serve-stale
}

func (r *Resolver) resolve(ctx context.Context, st *walk, depth int, name string, qtype uint16) (*Answer, error) {
	var chain []dns.RR
	seen := map[string]bool{}
	for range maxCNAME + 1 {
		if seen[name] {
			break
		}
		seen[name] = true
		res, err := r.resolveName(ctx, st, depth, name, qtype)
		if err != nil {
			return nil, err
		}
		if res.cname == "" {
			return &Answer{Rcode: res.rcode, Answer: append(chain, res.rrs...), Ns: res.ns, Stale: st.stale}, nil
		}
		chain = append(chain, res.rrs...)
		name = res.cname
	}
	return nil, errCNAMELoop
}

// result is the answer for one name, without following CNAMEs.
type result struct {
	rcode int
	rrs   []dns.RR // the RRset asked for, or the CNAME to follow
	cname string   // the CNAME's target, when rrs is a CNAME to follow
	ns    []dns.RR // SOA of a negative answer
}

func (r *Resolver) resolveName(ctx context.Context, st *walk, depth int, name string, qtype uint16) (result, error) {
	if res, ok := r.cached(name, qtype, false); ok {
		return res, nil
	}
	res, err := r.lookup(ctx, st, depth, name, qtype)
	if err == nil {
		return res, nil
	}
	if res, ok := r.cached(name, qtype, true); ok {
		st.stale = true
		r.log.Debug("dns serving stale data", slog.String("name", name), slog.Any("err", err))
		return res, nil
	}
	return result{}, err
}

// cached answers from the cache: NXDOMAIN of the name or an ancestor, the
// RRset or NODATA, or a CNAME.
func (r *Resolver) cached(name string, qtype uint16, stale bool) (result, bool) {
	now := r.opts.Now()
	if e := r.cache.nxdomain(name, now, stale); e != nil {
		return result{rcode: dns.RcodeNameError, ns: e.soaRecord(now)}, true
	}
	if e := r.cache.get(keyOf(name, qtype), now, trustAnswer, stale); e != nil {
		if e.negative {
			return result{rcode: dns.RcodeSuccess, ns: e.soaRecord(now)}, true
		}
		return result{rcode: dns.RcodeSuccess, rrs: e.records(now)}, true
	}
	if qtype == dns.TypeCNAME {
		return result{}, false
	}
	if e := r.cache.get(keyOf(name, dns.TypeCNAME), now, trustAnswer, stale); e != nil && !e.negative {
		rrs := e.records(now)
		return result{rcode: dns.RcodeSuccess, rrs: rrs[:1], cname: dns.CanonicalName(rrs[0].(*dns.CNAME).Target)}, true
	}
	return result{}, false
}

// lookup asks upstream: the forwarders when configured, else by iteration.
func (r *Resolver) lookup(ctx context.Context, st *walk, depth int, name string, qtype uint16) (result, error) {
	cfg, _ := r.config()
	if len(cfg.Forwarders) > 0 {
		return r.forward(ctx, st, cfg.Forwarders, name, qtype)
	}
	return r.iterate(ctx, st, depth, name, qtype)
}
