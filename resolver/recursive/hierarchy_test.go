package recursive

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"facteur/resolver/internal/dnstest"
)

func TestResolveThroughHierarchy(t *testing.T) {
	env := newEnv(t, Options{})
	a, sent := env.resolve(t, "WWW.Example.Test", dns.TypeA)
	if a.Rcode != dns.RcodeSuccess || !slices.Equal(addrs(a), []string{"127.0.0.80"}) {
		t.Fatalf("got %v %v, want 127.0.0.80", dns.RcodeToString[a.Rcode], a.Answer)
	}
	if sent != 3 {
		t.Errorf("sent %d queries, want 3 (root, TLD, leaf): %v", sent, env.tr.queries())
	}
	// QNAME minimisation: the root and the TLD never saw the full name.
	if got := env.h.Servers[dnstest.RootAddr].Queries(); !slices.Equal(got, []string{"test. A udp"}) {
		t.Errorf("root saw %v, want only test. A", got)
	}
	if got := env.h.Servers[dnstest.TestTLDAddr].Queries(); !slices.Equal(got, []string{"example.test. A udp"}) {
		t.Errorf("TLD saw %v, want only example.test. A", got)
	}

	// The second query is answered from the cache: no packet leaves.
	a, sent = env.resolve(t, "www.example.test.", dns.TypeA)
	if sent != 0 || !slices.Equal(addrs(a), []string{"127.0.0.80"}) {
		t.Errorf("second query sent %d packets and got %v, want 0 and the cached answer", sent, a.Answer)
	}
	if ttl := a.Answer[0].Header().Ttl; ttl != 300 {
		t.Errorf("got TTL %d at once, want 300", ttl)
	}
	env.clock.Advance(100 * time.Second)
	a, _ = env.resolve(t, "www.example.test.", dns.TypeA)
	if ttl := a.Answer[0].Header().Ttl; ttl != 200 {
		t.Errorf("got TTL %d after 100 s, want 200", ttl)
	}
}

func TestNoQNAMEMinimisation(t *testing.T) {
	env := newEnv(t, Options{NoQNAMEMinimisation: true})
	env.resolve(t, "www.example.test.", dns.TypeA)
	if got := env.h.Servers[dnstest.RootAddr].Queries(); !slices.Equal(got, []string{"www.example.test. A udp"}) {
		t.Errorf("root saw %v, want the full name", got)
	}
}

func TestTTLExpiry(t *testing.T) {
	env := newEnv(t, Options{})
	env.resolve(t, "www.other.test.", dns.TypeA) // TTL 60
	env.clock.Advance(59 * time.Second)
	if _, sent := env.resolve(t, "www.other.test.", dns.TypeA); sent != 0 {
		t.Errorf("sent %d packets before the TTL ran out", sent)
	}
	env.clock.Advance(2 * time.Second)
	a, sent := env.resolve(t, "www.other.test.", dns.TypeA)
	if sent != 1 {
		t.Errorf("sent %d packets after the TTL ran out, want 1 (the zone's NS are still cached): %v", sent, env.tr.queries())
	}
	if a.Stale || !slices.Equal(addrs(a), []string{"127.0.0.82"}) {
		t.Errorf("got %v stale=%v", a.Answer, a.Stale)
	}
}

func TestNegativeCaching(t *testing.T) {
	env := newEnv(t, Options{})
	a, _ := env.resolve(t, "nope.example.test.", dns.TypeA)
	if a.Rcode != dns.RcodeNameError || len(a.Ns) != 1 || a.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("got %s %v, want NXDOMAIN with the SOA", dns.RcodeToString[a.Rcode], a.Ns)
	}
	for _, name := range []string{"nope.example.test.", "deeper.nope.example.test."} {
		a, sent := env.resolve(t, name, dns.TypeAAAA)
		if sent != 0 || a.Rcode != dns.RcodeNameError {
			t.Errorf("%s: sent %d packets, got %s; want 0 and NXDOMAIN from the cache (RFC 2308, RFC 8020)", name, sent, dns.RcodeToString[a.Rcode])
		}
	}
	// NODATA is cached per type.
	a, _ = env.resolve(t, "www.example.test.", dns.TypeMX)
	if a.Rcode != dns.RcodeSuccess || len(a.Answer) != 0 || len(a.Ns) != 1 {
		t.Fatalf("MX: got %s %v %v, want NODATA", dns.RcodeToString[a.Rcode], a.Answer, a.Ns)
	}
	if _, sent := env.resolve(t, "www.example.test.", dns.TypeMX); sent != 0 {
		t.Errorf("cached NODATA sent %d packets", sent)
	}
	// The negative TTL is the SOA minimum (300 s in the box's zones).
	env.clock.Advance(301 * time.Second)
	if _, sent := env.resolve(t, "nope.example.test.", dns.TypeA); sent == 0 {
		t.Errorf("NXDOMAIN still cached after its negative TTL")
	}
}

func TestCNAMEAcrossZones(t *testing.T) {
	env := newEnv(t, Options{})
	for _, tc := range []struct {
		name  string
		chain []string
		addr  string
	}{
		{"alias.other.test.", []string{"alias.other.test. CNAME"}, "127.0.0.80"},
		{"chain.other.test.", []string{"chain.other.test. CNAME", "alias.other.test. CNAME"}, "127.0.0.80"},
		{"tocname.example.test.", []string{"tocname.example.test. CNAME"}, "127.0.0.82"},
	} {
		a, _ := env.resolve(t, tc.name, dns.TypeA)
		var got []string
		for _, rr := range a.Answer {
			if rr.Header().Rrtype == dns.TypeCNAME {
				got = append(got, rr.Header().Name+" CNAME")
			}
		}
		if !slices.Equal(got, tc.chain) || !slices.Equal(addrs(a), []string{tc.addr}) {
			t.Errorf("%s: got %v, want chain %v to %s", tc.name, a.Answer, tc.chain, tc.addr)
		}
		if _, sent := env.resolve(t, tc.name, dns.TypeA); sent != 0 {
			t.Errorf("%s: cached chain sent %d packets", tc.name, sent)
		}
	}
}

func TestCNAMELoop(t *testing.T) {
	env := newEnv(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a, err := env.r.Resolve(ctx, "loop1.other.test.", dns.TypeA); err == nil {
		t.Errorf("CNAME loop resolved to %v", a.Answer)
	}
	if n := env.tr.count(); n > 10 {
		t.Errorf("CNAME loop sent %d packets", n)
	}
}

// TestOutOfBailiwickGlue: test.'s servers answer the referral for
// victim.test with glue for ns.victim.example pointing at the attacker,
// and with an address for www.other.test that no NS needs. The resolver
// must ignore both, look ns.victim.example up under example., and never
// query the attacker.
func TestOutOfBailiwickGlue(t *testing.T) {
	env := newEnv(t, Options{})
	a, _ := env.resolve(t, "www.victim.test.", dns.TypeA)
	if !slices.Equal(addrs(a), []string{"127.0.0.81"}) {
		t.Errorf("got %v, want 127.0.0.81 from the real server", a.Answer)
	}
	if got := env.h.Servers[dnstest.AttackerAddr].Queries(); len(got) != 0 {
		t.Errorf("the attacker was queried: %v", got)
	}
	now := env.clock.Now()
	if e := env.r.cache.get(keyOf("ns.victim.example.", dns.TypeA), now, trustGlue, false); e == nil || !strings.Contains(e.rrs[0].String(), "127.0.0.15") {
		t.Errorf("ns.victim.example cached as %v, want 127.0.0.15 from example.", e)
	}
	a, _ = env.resolve(t, "www.other.test.", dns.TypeA)
	if !slices.Equal(addrs(a), []string{"127.0.0.82"}) {
		t.Errorf("www.other.test: got %v, want 127.0.0.82, not the TLD's extra address", a.Answer)
	}
	for _, q := range env.tr.queries() {
		if strings.HasPrefix(q, dnstest.AttackerAddr) {
			t.Errorf("query sent to the attacker: %s", q)
		}
	}
}

func TestTCPFallback(t *testing.T) {
	env := newEnv(t, Options{})
	a, _ := env.resolve(t, "big.other.test.", dns.TypeTXT)
	if len(a.Answer) != 1 || len(a.Answer[0].(*dns.TXT).Txt) != 5 {
		t.Fatalf("got %v, want the whole TXT", a.Answer)
	}
	got := env.h.Servers[dnstest.OtherAddr].Queries()
	if !slices.Contains(got, "big.other.test. TXT udp") || !slices.Contains(got, "big.other.test. TXT tcp") {
		t.Errorf("other.test saw %v, want the query over UDP then TCP", got)
	}
}

// TestServeStale: when every upstream fails, expired data is answered
// with TTL 30 (RFC 8767); once past StaleTTL it is gone.
func TestServeStale(t *testing.T) {
	env := newEnv(t, Options{Cache: CacheOptions{StaleTTL: time.Hour}})
	env.resolve(t, "www.other.test.", dns.TypeA)
	env.clock.Advance(2 * time.Minute)
	env.tr.setFail(true)
	a, _ := env.resolve(t, "www.other.test.", dns.TypeA)
	if !a.Stale || !slices.Equal(addrs(a), []string{"127.0.0.82"}) || a.Answer[0].Header().Ttl != 30 {
		t.Errorf("got %v stale=%v, want the stale answer with TTL 30", a.Answer, a.Stale)
	}
	env.clock.Advance(2 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a, err := env.r.Resolve(ctx, "www.other.test.", dns.TypeA); err == nil {
		t.Errorf("data older than StaleTTL served: %v", a.Answer)
	}
}

func TestQueryBudget(t *testing.T) {
	env := newEnv(t, Options{MaxQueries: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.r.Resolve(ctx, "www.example.test.", dns.TypeA); err == nil {
		t.Errorf("resolution needing 3 queries succeeded with a budget of 2")
	}
	if n := env.tr.count(); n != 2 {
		t.Errorf("sent %d queries, want 2", n)
	}
}

func TestCacheBoundedDuringResolution(t *testing.T) {
	env := newEnv(t, Options{Cache: CacheOptions{MaxEntries: 4}})
	for _, name := range []string{"www.example.test.", "www.other.test.", "www.victim.test.", "alias.other.test."} {
		env.resolve(t, name, dns.TypeA)
	}
	if n, _ := env.r.CacheStats(); n > 4 {
		t.Errorf("cache holds %d entries, want at most 4", n)
	}
}
