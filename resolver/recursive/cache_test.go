package recursive

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestCacheLRUBounds(t *testing.T) {
	c := newCache(CacheOptions{MaxEntries: 3})
	now := time.Unix(1_800_000_000, 0)
	for i := range 5 {
		c.putRRset([]dns.RR{mustRR(t, fmt.Sprintf("h%d.example. 300 A 192.0.2.%d", i, i))}, trustAnswer, now)
		if i == 2 {
			c.get(keyOf("h0.example.", dns.TypeA), now, trustAnswer, false) // h0 becomes recent
		}
	}
	if n, _ := c.stats(); n != 3 {
		t.Fatalf("got %d entries, want 3", n)
	}
	for name, want := range map[string]bool{"h0.example.": true, "h1.example.": false, "h2.example.": false, "h3.example.": true, "h4.example.": true} {
		if got := c.get(keyOf(name, dns.TypeA), now, trustAnswer, false) != nil; got != want {
			t.Errorf("%s cached: got %v, want %v", name, got, want)
		}
	}
}

func TestCacheByteBound(t *testing.T) {
	c := newCache(CacheOptions{MaxBytes: 2000})
	now := time.Unix(1_800_000_000, 0)
	for i := range 100 {
		c.putRRset([]dns.RR{mustRR(t, fmt.Sprintf("h%d.example. 300 TXT %q", i, "some text of a moderate length"))}, trustAnswer, now)
	}
	if _, b := c.stats(); b > 2000 {
		t.Errorf("cache holds %d bytes, want at most 2000", b)
	}
}

func TestCacheTTLClamps(t *testing.T) {
	c := newCache(CacheOptions{})
	now := time.Unix(1_800_000_000, 0)
	c.putRRset([]dns.RR{mustRR(t, "zero.example. 0 A 192.0.2.1")}, trustAnswer, now)
	c.putRRset([]dns.RR{mustRR(t, "long.example. 604800 A 192.0.2.1")}, trustAnswer, now)
	if e := c.get(keyOf("zero.example.", dns.TypeA), now.Add(4*time.Second), trustAnswer, false); e == nil {
		t.Errorf("TTL 0 not raised to the 5 s minimum")
	}
	if e := c.get(keyOf("long.example.", dns.TypeA), now.Add(25*time.Hour), trustAnswer, false); e != nil {
		t.Errorf("a week's TTL not capped at one day")
	}
	soa := mustRR(t, "example. 86400 SOA ns. host. 1 2 3 4 86400").(*dns.SOA)
	c.putNegative("gone.example.", typeNXDOMAIN, soa, now)
	if e := c.nxdomain("gone.example.", now.Add(4*time.Hour), false); e != nil {
		t.Errorf("negative TTL of a day not capped at 3 hours")
	}
	c.putNegative("nosoa.example.", typeNXDOMAIN, nil, now)
	if e := c.nxdomain("nosoa.example.", now, false); e != nil {
		t.Errorf("NXDOMAIN without SOA cached (RFC 2308 section 5)")
	}
}

// TestCacheTrust: glue never replaces an authoritative answer, and is never
// given to clients.
func TestCacheTrust(t *testing.T) {
	c := newCache(CacheOptions{})
	now := time.Unix(1_800_000_000, 0)
	c.putRRset([]dns.RR{mustRR(t, "ns.example. 300 A 192.0.2.1")}, trustAnswer, now)
	c.putRRset([]dns.RR{mustRR(t, "ns.example. 300 A 203.0.113.66")}, trustGlue, now)
	e := c.get(keyOf("ns.example.", dns.TypeA), now, trustAnswer, false)
	if e == nil || e.rrs[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("glue replaced an answer: %v", e)
	}
	c.putRRset([]dns.RR{mustRR(t, "glue.example. 300 A 192.0.2.2")}, trustGlue, now)
	if c.get(keyOf("glue.example.", dns.TypeA), now, trustAnswer, false) != nil {
		t.Errorf("glue given out as an answer")
	}
	if c.get(keyOf("glue.example.", dns.TypeA), now, trustGlue, false) == nil {
		t.Errorf("glue not usable to reach servers")
	}
}
