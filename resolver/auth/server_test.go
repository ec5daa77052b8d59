package auth

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"facteur/resolver/internal/dnstest"
)

func TestQueries(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			name      string
			qtype     uint16
			rcode     int
			answers   int
			wantOwner string // first answer's owner, exactly
			soa       bool   // SOA in authority
		}{
			{"www.example.com.", dns.TypeA, dns.RcodeSuccess, 1, "www.example.com.", false},
			{"WwW.ExAmPlE.cOm.", dns.TypeA, dns.RcodeSuccess, 1, "WwW.ExAmPlE.cOm.", false},
			{"example.com.", dns.TypeSOA, dns.RcodeSuccess, 1, "example.com.", false},
			{"example.com.", dns.TypeMX, dns.RcodeSuccess, 1, "example.com.", false},
			{"_submissions._tcp.example.com.", dns.TypeSRV, dns.RcodeSuccess, 1, "_submissions._tcp.example.com.", false},
			{"_tcp.example.com.", dns.TypeA, dns.RcodeSuccess, 0, "", true}, // empty non-terminal
			{"blog.example.com.", dns.TypeA, dns.RcodeSuccess, 2, "blog.example.com.", false},
			{"nope.example.com.", dns.TypeA, dns.RcodeNameError, 0, "", true},
			{"www.example.com.", dns.TypeMX, dns.RcodeSuccess, 0, "", true},
			{"sub.example.com.", dns.TypeA, dns.RcodeSuccess, 0, "", true}, // empty non-terminal
			{"x.deep.sub.example.com.", dns.TypeA, dns.RcodeNameError, 0, "", true},
			{"*.example.com.", dns.TypeA, dns.RcodeNameError, 0, "", true}, // wildcard-free
			{"example.net.", dns.TypeA, dns.RcodeRefused, 0, "", false},
			{"com.", dns.TypeNS, dns.RcodeRefused, 0, "", false},
		} {
			t.Run(network+" "+tc.name+" "+dns.TypeToString[tc.qtype], func(t *testing.T) {
				resp := query(t, addr, network, tc.name, tc.qtype, 0)
				if resp.Rcode != tc.rcode {
					t.Fatalf("got rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
				}
				if len(resp.Answer) != tc.answers {
					t.Fatalf("got %d answers, want %d: %v", len(resp.Answer), tc.answers, resp.Answer)
				}
				if tc.answers > 0 && resp.Answer[0].Header().Name != tc.wantOwner {
					t.Errorf("got owner %q, want %q", resp.Answer[0].Header().Name, tc.wantOwner)
				}
				if resp.RecursionAvailable {
					t.Errorf("RA set by an authoritative-only server")
				}
				if tc.rcode != dns.RcodeRefused && !resp.Authoritative {
					t.Errorf("AA not set")
				}
				checkNegativeSOA(t, resp, tc.soa)
			})
		}
	}
}

func checkNegativeSOA(t *testing.T, resp *dns.Msg, want bool) {
	t.Helper()
	if !want {
		return
	}
	if len(resp.Ns) != 1 {
		t.Fatalf("got authority %v, want the SOA", resp.Ns)
	}
	soa, ok := resp.Ns[0].(*dns.SOA)
	if !ok || soa.Hdr.Name != "example.com." || soa.Serial != 2026031601 {
		t.Fatalf("got authority %v, want example.com's SOA", resp.Ns[0])
	}
	if soa.Hdr.Ttl != 300 {
		t.Errorf("got negative TTL %d, want the SOA minimum 300", soa.Hdr.Ttl)
	}
}

func TestMXAdditional(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	resp := query(t, addr, "udp", "example.com.", dns.TypeMX, 1232)
	var a, aaaa bool
	for _, rr := range resp.Extra {
		switch rr.Header().Rrtype {
		case dns.TypeA:
			a = rr.Header().Name == "mail.example.com."
		case dns.TypeAAAA:
			aaaa = rr.Header().Name == "mail.example.com."
		}
	}
	if !a || !aaaa {
		t.Errorf("additional section %v lacks mail.example.com's A and AAAA", resp.Extra)
	}
}

func TestDKIMOverTheWire(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	resp := query(t, addr, "udp", "2026b._domainkey.example.com.", dns.TypeTXT, 1232)
	if len(resp.Answer) != 1 {
		t.Fatalf("got %v", resp.Answer)
	}
	txt := resp.Answer[0].(*dns.TXT).Txt
	if len(txt) != 2 || len(txt[0]) != 255 || !strings.HasSuffix(strings.Join(txt, ""), strings.Repeat("A", 400)) {
		t.Errorf("got strings of %d parts, want the key split at 255 bytes", len(txt))
	}
}

func TestEDNSAndTruncation(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	for _, tc := range []struct {
		network   string
		edns      uint16
		truncated bool
		opt       bool
	}{
		{"udp", 0, true, false},
		{"udp", 4096, true, true}, // capped at 1232
		{"tcp", 0, false, false},
		{"tcp", 4096, false, true},
	} {
		resp := query(t, addr, tc.network, "big.example.com.", dns.TypeTXT, tc.edns)
		if resp.Truncated != tc.truncated {
			t.Errorf("%s edns %d: got TC=%v, want %v", tc.network, tc.edns, resp.Truncated, tc.truncated)
		}
		if !tc.truncated && len(resp.Answer) != 1 {
			t.Errorf("%s edns %d: got %d answers, want the TXT", tc.network, tc.edns, len(resp.Answer))
		}
		if (resp.IsEdns0() != nil) != tc.opt {
			t.Errorf("%s edns %d: got OPT %v, want %v", tc.network, tc.edns, resp.IsEdns0() != nil, tc.opt)
		}
		if opt := resp.IsEdns0(); opt != nil && opt.UDPSize() != 1232 {
			t.Errorf("got advertised size %d, want 1232", opt.UDPSize())
		}
	}
}

func TestBadEDNSVersion(t *testing.T) {
	srv := newServer(t, Options{})
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	resp := srv.Reply(m, false, nil)
	if resp.Rcode != dns.RcodeBadVers || len(resp.Answer) != 0 {
		t.Errorf("got rcode %s with %d answers, want BADVERS", dns.RcodeToString[resp.Rcode], len(resp.Answer))
	}
}

func TestANY(t *testing.T) {
	addr := startServer(t, newServer(t, Options{}))
	udp := query(t, addr, "udp", "example.com.", dns.TypeANY, 1232)
	if len(udp.Answer) != 1 || udp.Answer[0].Header().Rrtype != dns.TypeHINFO {
		t.Errorf("ANY over UDP: got %v, want one HINFO (RFC 8482)", udp.Answer)
	}
	tcp := query(t, addr, "tcp", "example.com.", dns.TypeANY, 0)
	if len(tcp.Answer) != 4 { // SOA, NS, MX, TXT
		t.Errorf("ANY over TCP: got %d records, want the whole apex", len(tcp.Answer))
	}
}

func TestOpcodesAndClasses(t *testing.T) {
	srv := newServer(t, Options{})
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.Opcode = dns.OpcodeStatus
	if got := srv.Reply(m, false, nil).Rcode; got != dns.RcodeNotImplemented {
		t.Errorf("STATUS: got %s, want NOTIMP", dns.RcodeToString[got])
	}
	m = new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.Question[0].Qclass = dns.ClassCHAOS
	if got := srv.Reply(m, false, nil).Rcode; got != dns.RcodeRefused {
		t.Errorf("CH: got %s, want REFUSED", dns.RcodeToString[got])
	}
}

func TestSetSnapshotReplacesZones(t *testing.T) {
	srv := newServer(t, Options{})
	addr := startServer(t, srv)
	snap := testSnapshot(2026031602)
	snap.Domains = append(snap.Domains, snap.Domains[0])
	snap.Domains[1].Name = "example.org"
	snap.Domains[0].Extra = nil
	srv.SetSnapshot(snap)
	if resp := query(t, addr, "udp", "www.example.com.", dns.TypeA, 0); resp.Rcode != dns.RcodeNameError {
		t.Errorf("removed record: got %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}
	resp := query(t, addr, "udp", "example.org.", dns.TypeSOA, 0)
	if len(resp.Answer) != 1 || resp.Answer[0].(*dns.SOA).Serial != 2026031602 {
		t.Errorf("new zone: got %v", resp.Answer)
	}
	if !srv.Handles("WWW.EXAMPLE.ORG") || srv.Handles("example.net.") {
		t.Errorf("Handles disagrees with the zones %v", srv.Zones())
	}
}

func TestAXFR(t *testing.T) {
	srv := newServer(t, Options{})
	addr := startServer(t, srv)
	transfer := func(network, key, secret string) ([]dns.RR, error) {
		m := new(dns.Msg)
		m.SetAxfr("example.com.")
		tr := &dns.Transfer{}
		if key != "" {
			m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
			tr.TsigSecret = map[string]string{key: secret}
		}
		if network == "udp" {
			c := &dns.Client{Net: "udp", TsigSecret: tr.TsigSecret}
			resp, _, err := c.Exchange(m, addr)
			if err != nil {
				return nil, err
			}
			if resp.Rcode != dns.RcodeSuccess {
				return nil, &rcodeError{resp.Rcode}
			}
			return resp.Answer, nil
		}
		env, err := tr.In(m, addr)
		if err != nil {
			return nil, err
		}
		var rrs []dns.RR
		for e := range env {
			if e.Error != nil {
				return nil, e.Error
			}
			rrs = append(rrs, e.RR...)
		}
		return rrs, nil
	}
	rrs, err := transfer("tcp", tsigName, tsigSecret)
	if err != nil {
		t.Fatalf("AXFR with TSIG: %v", err)
	}
	want := len(testSnapshot(2026031601).Domains[0].Records()) + 1
	if len(rrs) != want || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Errorf("got %d records framed by %v..%v, want %d framed by SOA", len(rrs), rrs[0], rrs[len(rrs)-1], want)
	}
	for _, tc := range []struct{ name, network, key, secret string }{
		{"no tsig", "tcp", "", ""},
		{"wrong secret", "tcp", tsigName, "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA=="},
		{"unknown key", "tcp", "other.", tsigSecret},
		{"udp", "udp", tsigName, tsigSecret},
	} {
		if rrs, err := transfer(tc.network, tc.key, tc.secret); err == nil {
			t.Errorf("%s: transfer of %d records allowed", tc.name, len(rrs))
		}
	}
}

type rcodeError struct{ rcode int }

func (e *rcodeError) Error() string { return dns.RcodeToString[e.rcode] }

func TestAXFRFromUnlistedAddress(t *testing.T) {
	srv := newServer(t, Options{})
	w := &fakeWriter{remote: &net.TCPAddr{IP: net.ParseIP("127.0.0.9"), Port: 4000}}
	m := new(dns.Msg)
	m.SetAxfr("example.com.")
	m.SetTsig(tsigName, dns.HmacSHA256, 300, time.Now().Unix())
	srv.ServeDNS(w, m)
	if len(w.written) != 1 || w.written[0].Rcode != dns.RcodeRefused {
		t.Fatalf("got %v, want one REFUSED", w.written)
	}
}

// TestNotify checks that a serial change sends a TSIG-signed NOTIFY with
// the new SOA to the secondary.
func TestNotify(t *testing.T) {
	pc, l, err := dnstest.ListenPair("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *dns.Msg, 10)
	secondary := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		if r.Opcode == dns.OpcodeNotify && w.TsigStatus() == nil && r.IsTsig() != nil {
			got <- r
		}
		m := new(dns.Msg)
		m.SetReply(r)
		if t := r.IsTsig(); t != nil {
			m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
		}
		w.WriteMsg(m)
	})
	sec, err := dnstest.Serve(secondary, pc, l, keyringWith(tsigName, tsigSecret))
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Stop()
	port := uint16(l.Addr().(*net.TCPAddr).Port)

	srv := New(Options{NotifyTimeout: 500 * time.Millisecond, Logger: quiet})
	snap := testSnapshot(2026031601)
	snap.Domains[0].Secondaries[0].Port = port
	srv.SetSnapshot(snap)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitNotify(t, got, 2026031601)

	snap = testSnapshot(2026031602)
	snap.Domains[0].Secondaries[0].Port = port
	srv.SetSnapshot(snap)
	waitNotify(t, got, 2026031602)

	srv.SetSnapshot(snap) // same serial: no NOTIFY
	select {
	case m := <-got:
		t.Errorf("NOTIFY sent for an unchanged serial: %v", m.Answer)
	case <-time.After(300 * time.Millisecond):
	}
}

func waitNotify(t *testing.T, got chan *dns.Msg, serial uint32) {
	t.Helper()
	select {
	case m := <-got:
		if m.Question[0].Name != "example.com." || len(m.Answer) != 1 || m.Answer[0].(*dns.SOA).Serial != serial {
			t.Errorf("got NOTIFY %v, want example.com serial %d", m, serial)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no NOTIFY for serial %d", serial)
	}
}

func keyringWith(name, secret string) *keyring {
	k := newKeyring()
	k.set(map[string]tsigKey{name: {secret: secret, algorithm: dns.HmacSHA256}})
	return k
}
