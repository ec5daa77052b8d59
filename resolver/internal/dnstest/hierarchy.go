package dnstest

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// The test hierarchy. Every server listens on Hierarchy.Port.
//
//	127.0.0.10  root "."        delegates test. and example.
//	127.0.0.11  TLD  test.      delegates example.test (glue), other.test (glue),
//	                             victim.test to ns.victim.example with
//	                             OUT-OF-BAILIWICK glue pointing at the attacker
//	127.0.0.12  TLD  example.   ns.victim.example A 127.0.0.15 (the truth)
//	127.0.0.13  example.test    the Leaf handler (the box's auth.Server in tests)
//	127.0.0.14  other.test      www A, alias CNAME into example.test, big TXT
//	127.0.0.15  victim.test     www A 127.0.0.81
//	127.0.0.66  attacker        answers every A query with 127.0.0.99
const (
	RootAddr     = "127.0.0.10"
	TestTLDAddr  = "127.0.0.11"
	ExampleTLD   = "127.0.0.12"
	LeafAddr     = "127.0.0.13"
	OtherAddr    = "127.0.0.14"
	VictimAddr   = "127.0.0.15"
	AttackerAddr = "127.0.0.66"
)

var rootZone = `
@ 86400 SOA a.root.test. hostmaster.root.test. 1 1800 900 604800 86400
@ 518400 NS a.root.test.
a.root.test. 518400 A 127.0.0.10
test. 172800 NS ns.nic.test.
ns.nic.test. 172800 A 127.0.0.11
example. 172800 NS ns.nic.example.
ns.nic.example. 172800 A 127.0.0.12
`

var testTLD = `
@ 900 SOA ns.nic.test. hostmaster.nic.test. 1 1800 900 604800 900
@ 172800 NS ns.nic.test.
ns.nic 172800 A 127.0.0.11
example 172800 NS ns1.example.test.
ns1.example 172800 A 127.0.0.13
other 172800 NS ns.other.test.
ns.other 172800 A 127.0.0.14
victim 172800 NS ns.victim.example.
; out-of-bailiwick glue: test. may not speak for example.
ns.victim.example. 172800 A 127.0.0.66
; in-bailiwick but not an NS target: must not be cached either
www.other 172800 A 127.0.0.66
`

var exampleTLD = `
@ 900 SOA ns.nic.example. hostmaster.nic.example. 1 1800 900 604800 900
@ 172800 NS ns.nic.example.
ns.nic 172800 A 127.0.0.12
ns.victim 3600 A 127.0.0.15
`

// LeafZone is the default example.test zone, when no Leaf handler is given.
var LeafZone = `
@ 3600 SOA ns1.example.test. hostmaster.example.test. 1 1800 900 604800 300
@ 3600 NS ns1.example.test.
ns1 3600 A 127.0.0.13
www 300 A 127.0.0.80
`

var otherZone = `
@ 3600 SOA ns.other.test. hostmaster.other.test. 1 1800 900 604800 60
@ 3600 NS ns.other.test.
ns 3600 A 127.0.0.14
www 60 A 127.0.0.82
alias 300 CNAME www.example.test.
chain 300 CNAME alias.other.test.
loop1 300 CNAME loop2.other.test.
loop2 300 CNAME loop1.other.test.
big 300 TXT "` + strings.Repeat("x", 250) + `" "` + strings.Repeat("y", 250) + `" "` + strings.Repeat("z", 250) + `" "` + strings.Repeat("w", 250) + `" "` + strings.Repeat("v", 250) + `"
`

var victimZone = `
@ 3600 SOA ns.victim.example. hostmaster.victim.test. 1 1800 900 604800 300
@ 3600 NS ns.victim.example.
www 300 A 127.0.0.81
`

var attackerZone = `
@ 3600 SOA ns.evil. hostmaster.evil. 1 1800 900 604800 300
`

// Hierarchy is a running test DNS tree.
type Hierarchy struct {
	Port int
	// Hints point a resolver at the test root.
	Hints []Hint
	// Servers by address; Leaf's entry is nil when a handler was given.
	Servers map[string]*Static
	running []*Running
}

// Hint is a root server.
type Hint struct {
	Name string
	Addr netip.Addr
}

// StartHierarchy starts the tree; leaf serves example.test (nil: LeafZone).
// Everything stops when the test ends.
func StartHierarchy(t testing.TB, leaf dns.Handler) *Hierarchy {
	t.Helper()
	zones := map[string]map[string]string{
		RootAddr:     {".": rootZone},
		TestTLDAddr:  {"test.": testTLD},
		ExampleTLD:   {"example.": exampleTLD},
		OtherAddr:    {"other.test.": otherZone},
		VictimAddr:   {"victim.test.": victimZone},
		AttackerAddr: {".": attackerZone},
	}
	if leaf == nil {
		zones[LeafAddr] = map[string]string{"example.test.": LeafZone}
	}
	ips := []string{RootAddr, TestTLDAddr, ExampleTLD, LeafAddr, OtherAddr, VictimAddr, AttackerAddr}
	port, pcs, ls, err := ListenPairsOnPort(ips)
	if err != nil {
		t.Fatalf("test hierarchy: %v", err)
	}
	h := &Hierarchy{Port: port, Servers: map[string]*Static{}}
	h.Hints = []Hint{{Name: "a.root.test.", Addr: netip.MustParseAddr(RootAddr)}}
	t.Cleanup(h.stop)
	for i, ip := range ips {
		handler := leaf
		if z, ok := zones[ip]; ok {
			s, err := NewStatic(z)
			if err != nil {
				t.Fatalf("test hierarchy: %v", err)
			}
			if ip == AttackerAddr {
				handler = attacker{s}
			} else {
				handler = s
			}
			h.Servers[ip] = s
		}
		r, err := Serve(handler, pcs[i], ls[i], nil)
		if err != nil {
			t.Fatalf("test hierarchy %s: %v", ip, err)
		}
		h.running = append(h.running, r)
	}
	return h
}

func (h *Hierarchy) stop() {
	for _, r := range h.running {
		r.Stop()
	}
}

// Addr returns ip:port of a server of the hierarchy.
func (h *Hierarchy) Addr(ip string) string { return fmt.Sprintf("%s:%d", ip, h.Port) }

// attacker answers every A query with 127.0.0.99, authoritatively.
type attacker struct{ *Static }

func (a attacker) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	a.Static.mu.Lock()
	a.Static.log = append(a.Static.log, strings.ToLower(r.Question[0].Name))
	a.Static.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	if q.Qtype == dns.TypeA {
		rr, _ := dns.NewRR(q.Name + " 86400 IN A 127.0.0.99")
		m.Answer = []dns.RR{rr}
	}
	w.WriteMsg(m)
}
