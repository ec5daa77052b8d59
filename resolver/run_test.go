package resolver

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"facteur/resolver/internal/dnstest"
	"facteur/resolver/recursive"
	"facteur/resolver/zone"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	roleIP   = "127.0.0.30"
	tsigName = "xfr.example.com."
)

var tsigSecret = base64.StdEncoding.EncodeToString([]byte("role-test-secret-role-test-secret"))

func roleSnapshot() *zone.Snapshot {
	return &zone.Snapshot{
		Domains: []zone.Domain{{
			Name:        "example.com",
			Serial:      2026031601,
			Host:        "mail.example.com",
			Addrs:       []netip.Addr{netip.MustParseAddr("192.0.2.25")},
			DKIM:        []zone.DKIMKey{{Selector: "a", Value: "v=DKIM1; k=ed25519; p=AAAA"}},
			Secondaries: []zone.Secondary{{Addr: netip.MustParseAddr("127.0.0.1"), TSIGKey: tsigName, TSIGSecret: tsigSecret}},
			Extra:       []string{"www 300 A 192.0.2.80"},
		}},
		LANHosts: []zone.LANHost{
			{Name: "nas.home.arpa", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.5")}},
			// A LAN client reaches the mail host on its LAN address.
			{Name: "mail.example.com", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.25")}},
		},
	}
}

type role struct {
	addr     string
	snapshot string
	h        *dnstest.Hierarchy
}

// startRole runs the dns role on 127.0.0.30 (a free port) with the test
// hierarchy as its root; only 127.0.0.1 counts as LAN.
func startRole(t *testing.T) *role {
	t.Helper()
	h := dnstest.StartHierarchy(t, nil)
	path := filepath.Join(t.TempDir(), "dns.json")
	if err := zone.WriteFile(path, roleSnapshot()); err != nil {
		t.Fatal(err)
	}
	pc, l, err := dnstest.ListenPair(roleIP)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			SnapshotPath: path,
			PacketConns:  []net.PacketConn{pc},
			Listeners:    []net.Listener{l},
			Logger:       slog.New(slog.DiscardHandler),
			Allow:        []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			RootHints:    []recursive.Hint{{Name: h.Hints[0].Name, Addr: h.Hints[0].Addr}},
			UpstreamPort: uint16(h.Port),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &role{addr: l.Addr().String(), snapshot: path, h: h}
}

func ask(t *testing.T, src, addr, network, name string, qtype uint16) *dns.Msg {
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
		t.Fatalf("%s %s from %s over %s: %v", name, dns.TypeToString[qtype], src, network, err)
	}
	return resp
}

// TestDispatch: the same listener is authoritative for everyone and
// recursive only for the LAN.
func TestDispatch(t *testing.T) {
	r := startRole(t)
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			src, name string
			qtype     uint16
			rcode     int
			aa, ra    bool
			answers   int
		}{
			{"127.0.0.2", "www.example.test.", dns.TypeA, dns.RcodeRefused, false, false, 0}, // no open resolver
			{"127.0.0.2", "example.com.", dns.TypeSOA, dns.RcodeSuccess, true, false, 1},     // authoritative for all
			{"127.0.0.2", "nas.home.arpa.", dns.TypeA, dns.RcodeRefused, false, false, 0},    // LAN names stay in the LAN
			{"127.0.0.1", "www.example.test.", dns.TypeA, dns.RcodeSuccess, false, true, 1},  // recursion for the LAN
			{"127.0.0.1", "www.example.com.", dns.TypeA, dns.RcodeSuccess, true, true, 1},    // own zone, answered directly
			{"127.0.0.1", "nas.home.arpa.", dns.TypeA, dns.RcodeSuccess, true, true, 1},      // static LAN host
			{"127.0.0.1", "5.1.168.192.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, true, true, 1},
			{"127.0.0.1", "7.7.10.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, true, true, 0},
		} {
			resp := ask(t, tc.src, r.addr, network, tc.name, tc.qtype)
			if resp.Rcode != tc.rcode || resp.Authoritative != tc.aa || resp.RecursionAvailable != tc.ra || len(resp.Answer) != tc.answers {
				t.Errorf("%s %s from %s over %s: got %s aa=%v ra=%v %v; want %s aa=%v ra=%v %d answers",
					tc.name, dns.TypeToString[tc.qtype], tc.src, network, dns.RcodeToString[resp.Rcode], resp.Authoritative,
					resp.RecursionAvailable, resp.Answer, dns.RcodeToString[tc.rcode], tc.aa, tc.ra, tc.answers)
			}
		}
	}
	// The LAN sees the static address of the mail host, the world the public one.
	lan := ask(t, "127.0.0.1", r.addr, "udp", "mail.example.com.", dns.TypeA)
	public := ask(t, "127.0.0.2", r.addr, "udp", "mail.example.com.", dns.TypeA)
	if len(lan.Answer) != 1 || len(public.Answer) != 1 ||
		lan.Answer[0].(*dns.A).A.String() != "192.168.1.25" || public.Answer[0].(*dns.A).A.String() != "192.0.2.25" {
		t.Errorf("mail.example.com: LAN got %v, public got %v", lan.Answer, public.Answer)
	}
	// Other types of that name still come from the zone.
	if txt := ask(t, "127.0.0.1", r.addr, "udp", "mail.example.com.", dns.TypeTXT); len(txt.Answer) != 1 || !txt.Authoritative {
		t.Errorf("mail.example.com TXT from the LAN: got %v", txt.Answer)
	}
}

// TestSnapshotChangeWithinASecond: a new domain and a new DKIM key are
// answered within a second of the core writing the snapshot, without a
// restart.
func TestSnapshotChangeWithinASecond(t *testing.T) {
	r := startRole(t)
	if resp := ask(t, "127.0.0.2", r.addr, "udp", "example.org.", dns.TypeSOA); resp.Rcode != dns.RcodeRefused {
		t.Fatalf("example.org before it is added: got %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
	snap := roleSnapshot()
	org := snap.Domains[0]
	org.Name, org.Extra, org.Secondaries = "example.org", nil, nil
	snap.Domains = append(snap.Domains, org)
	snap.Domains[0].DKIM = append(snap.Domains[0].DKIM, zone.DKIMKey{Selector: "b", Value: "v=DKIM1; k=ed25519; p=BBBB"})
	snap.AssignSerials(roleSnapshot(), time.Now())

	start := time.Now()
	if err := zone.WriteFile(r.snapshot, snap); err != nil {
		t.Fatal(err)
	}
	deadline := start.Add(time.Second)
	for {
		a := ask(t, "127.0.0.2", r.addr, "udp", "example.org.", dns.TypeSOA)
		b := ask(t, "127.0.0.2", r.addr, "udp", "b._domainkey.example.com.", dns.TypeTXT)
		if a.Rcode == dns.RcodeSuccess && len(b.Answer) == 1 {
			t.Logf("change visible after %v", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("change not visible within a second: example.org %s, new DKIM key %v", dns.RcodeToString[a.Rcode], b.Answer)
		}
		time.Sleep(20 * time.Millisecond)
	}
	soa := ask(t, "127.0.0.2", r.addr, "udp", "example.com.", dns.TypeSOA).Answer[0].(*dns.SOA)
	if soa.Serial <= 2026031601 {
		t.Errorf("serial %d not bumped by the DKIM change", soa.Serial)
	}
}

func TestMissingSnapshot(t *testing.T) {
	pc, l, err := dnstest.ListenPair(roleIP)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			SnapshotPath: filepath.Join(t.TempDir(), "absent.json"),
			PacketConns:  []net.PacketConn{pc},
			Listeners:    []net.Listener{l},
			Logger:       slog.New(slog.DiscardHandler),
			// Never the real roots from a test.
			RootHints: []recursive.Hint{{Name: "root.", Addr: netip.MustParseAddr("127.0.0.1")}},
		})
	}()
	resp := ask(t, "127.0.0.1", l.Addr().String(), "udp", "localhost.", dns.TypeA)
	if len(resp.Answer) != 1 {
		t.Errorf("without a snapshot: got %v, want localhost answered", resp.Answer)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dns.json")
	if err := zone.WriteFile(path, roleSnapshot()); err != nil {
		t.Fatal(err)
	}
	all, err := Records(path, "")
	if err != nil {
		t.Fatal(err)
	}
	one, err := Records(path, "EXAMPLE.COM")
	if err != nil || one != all || !strings.Contains(one, "a._domainkey.example.com.\t3600\tIN\tTXT\t\"v=DKIM1; k=ed25519; p=AAAA\"") {
		t.Errorf("Records:\n%s\nerr %v", one, err)
	}
	if _, err := Records(path, "example.net"); err == nil {
		t.Errorf("Records of an unknown domain succeeded")
	}
}

// dig runs Debian's dig (dnsutils) from src against the role.
func dig(t *testing.T, src, addr string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig not installed (apt-get install dnsutils; make test installs it)")
	}
	host, port, _ := net.SplitHostPort(addr)
	all := append([]string{"@" + host, "-p", port, "-b", src, "+time=5", "+tries=1"}, args...)
	out, err := exec.Command(path, all...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out)
}

func TestDig(t *testing.T) {
	r := startRole(t)
	for _, transport := range []string{"+notcp", "+tcp"} {
		out := dig(t, "127.0.0.1", r.addr, transport, "www.example.test", "A")
		if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, " ra") || !strings.Contains(out, "127.0.0.80") {
			t.Errorf("dig %s recursive:\n%s", transport, out)
		}
		out = dig(t, "127.0.0.1", r.addr, transport, "alias.other.test", "A")
		if !strings.Contains(out, "CNAME\twww.example.test.") || !strings.Contains(out, "127.0.0.80") {
			t.Errorf("dig %s CNAME across zones:\n%s", transport, out)
		}
		out = dig(t, "127.0.0.1", r.addr, transport, "nope.example.test", "A")
		if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "AUTHORITY: 1") {
			t.Errorf("dig %s NXDOMAIN:\n%s", transport, out)
		}
		out = dig(t, "127.0.0.2", r.addr, transport, "www.example.test", "A")
		if !strings.Contains(out, "status: REFUSED") {
			t.Errorf("dig %s recursive from outside the LAN:\n%s", transport, out)
		}
		out = dig(t, "127.0.0.2", r.addr, transport, "+norec", "_submissions._tcp.example.com", "SRV")
		if !strings.Contains(out, "flags: qr aa") || !strings.Contains(out, "0 1 465 mail.example.com.") {
			t.Errorf("dig %s authoritative from outside the LAN:\n%s", transport, out)
		}
	}
	out := dig(t, "127.0.0.1", r.addr, "-y", "hmac-sha256:"+tsigName+":"+tsigSecret, "example.com", "AXFR")
	if !strings.Contains(out, "XFR size:") || strings.Count(out, "\tSOA\t") != 2 {
		t.Errorf("dig axfr:\n%s", out)
	}
	out = dig(t, "127.0.0.2", r.addr, "-y", "hmac-sha256:"+tsigName+":"+tsigSecret, "example.com", "AXFR")
	if !strings.Contains(out, "Transfer failed") {
		t.Errorf("dig axfr from an address that is not a secondary:\n%s", out)
	}
}
