package recursive

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"facteur/resolver/internal/dnstest"
)

// serveResolver serves r on a free port of ip.
func serveResolver(t *testing.T, r *Resolver, ip string) string {
	t.Helper()
	pc, l, err := dnstest.ListenPair(ip)
	if err != nil {
		t.Fatal(err)
	}
	run, err := dnstest.Serve(r, pc, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Stop)
	return run.Addr
}

func exchangeFrom(t *testing.T, src, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 10 * time.Second}
	if network == "udp" {
		c.Dialer = &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}
	} else {
		c.Dialer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query from %s over %s: %v", src, network, err)
	}
	return resp
}

// TestRefusedOutsideLAN: only 127.0.0.1/32 may recurse; a query from
// 127.0.0.2 is REFUSED and sends nothing upstream.
func TestRefusedOutsideLAN(t *testing.T) {
	env := newEnv(t, Options{})
	env.r.SetConfig(Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	addr := serveResolver(t, env.r, "127.0.0.20")
	for _, network := range []string{"udp", "tcp"} {
		resp := exchangeFrom(t, "127.0.0.2", addr, network, "www.example.test.", dns.TypeA)
		if resp.Rcode != dns.RcodeRefused || len(resp.Answer) != 0 || resp.RecursionAvailable {
			t.Errorf("%s from 127.0.0.2: got %s %v, want REFUSED", network, dns.RcodeToString[resp.Rcode], resp.Answer)
		}
	}
	if n := env.tr.count(); n != 0 {
		t.Errorf("refused queries sent %d packets upstream", n)
	}
	for _, network := range []string{"udp", "tcp"} {
		resp := exchangeFrom(t, "127.0.0.1", addr, network, "www.example.test.", dns.TypeA)
		if resp.Rcode != dns.RcodeSuccess || !resp.RecursionAvailable || len(resp.Answer) != 1 {
			t.Errorf("%s from 127.0.0.1: got %s %v, want the answer", network, dns.RcodeToString[resp.Rcode], resp.Answer)
		}
	}
}

func TestServeDNSTruncatesForClient(t *testing.T) {
	env := newEnv(t, Options{})
	addr := serveResolver(t, env.r, "127.0.0.20")
	udp := exchangeFrom(t, "127.0.0.1", addr, "udp", "big.other.test.", dns.TypeTXT)
	if !udp.Truncated {
		t.Errorf("1.2 kB answer to a client without EDNS0 not truncated")
	}
	tcp := exchangeFrom(t, "127.0.0.1", addr, "tcp", "big.other.test.", dns.TypeTXT)
	if tcp.Truncated || len(tcp.Answer) != 1 {
		t.Errorf("over TCP: got TC=%v %d answers", tcp.Truncated, len(tcp.Answer))
	}
}

func TestServeDNSFailures(t *testing.T) {
	env := newEnv(t, Options{})
	env.tr.setFail(true)
	q := new(dns.Msg)
	q.SetQuestion("www.example.test.", dns.TypeA)
	if m := env.r.Reply(q, netip.MustParseAddr("127.0.0.1"), false); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("all upstreams down: got %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
	}
	q.SetQuestion("example.test.", dns.TypeAXFR)
	if m := env.r.Reply(q, netip.MustParseAddr("127.0.0.1"), true); m.Rcode != dns.RcodeRefused {
		t.Errorf("AXFR through the resolver: got %s, want REFUSED", dns.RcodeToString[m.Rcode])
	}
}

// TestForwarding: a resolver with forwarders asks them (RD set) and
// caches their answers.
func TestForwarding(t *testing.T) {
	env := newEnv(t, Options{})
	upstream := serveResolver(t, env.r, "127.0.0.21")
	tr := &countingTransport{inner: NetTransport{}}
	fwd := New(Options{Logger: quiet, Transport: tr, Now: env.clock.Now, RootHints: []Hint{{Name: "unused.", Addr: netip.MustParseAddr("127.0.0.99")}}})
	fwd.SetConfig(Config{Forwarders: []netip.AddrPort{netip.MustParseAddrPort(upstream)}})
	env2 := &testEnv{h: env.h, clock: env.clock, tr: tr, r: fwd}
	a, sent := env2.resolve(t, "alias.other.test.", dns.TypeA)
	if sent != 1 || !slices.Equal(addrs(a), []string{"127.0.0.80"}) {
		t.Errorf("got %v with %d packets, want 127.0.0.80 with one", a.Answer, sent)
	}
	if _, sent := env2.resolve(t, "alias.other.test.", dns.TypeA); sent != 0 {
		t.Errorf("cached forwarded answer sent %d packets", sent)
	}
	if _, sent := env2.resolve(t, "www.example.test.", dns.TypeA); sent != 0 {
		t.Errorf("the chain's target was not cached: %d packets", sent)
	}
	a, _ = env2.resolve(t, "nope.other.test.", dns.TypeA)
	if a.Rcode != dns.RcodeNameError {
		t.Errorf("got %s, want NXDOMAIN", dns.RcodeToString[a.Rcode])
	}
}

// TestMetaTypesRefused: type 0 and the meta types are refused, so that no
// client can write an entry that reads as "this name does not exist".
func TestMetaTypesRefused(t *testing.T) {
	env := newEnv(t, Options{})
	client := netip.MustParseAddr("127.0.0.1")
	for _, qt := range []uint16{dns.TypeNone, dns.TypeOPT, dns.TypeTSIG, dns.TypeAXFR, dns.TypeMAILB} {
		q := new(dns.Msg)
		q.SetQuestion("www.example.test.", qt)
		if m := env.r.Reply(q, client, true); m.Rcode != dns.RcodeRefused {
			t.Errorf("type %d: got %s, want REFUSED", qt, dns.RcodeToString[m.Rcode])
		}
	}
	if n := env.tr.count(); n != 0 {
		t.Errorf("meta types sent %d packets", n)
	}
	a, _ := env.resolve(t, "www.example.test.", dns.TypeA)
	if a.Rcode != dns.RcodeSuccess {
		t.Errorf("after meta queries: got %s", dns.RcodeToString[a.Rcode])
	}
}
