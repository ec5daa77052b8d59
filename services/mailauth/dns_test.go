package mailauth

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// testDNS is an authoritative DNS server on a real UDP socket on loopback,
// answering TXT, A and MX queries from maps. Names are lower case and end
// in a dot. A name in servfail gets SERVFAIL; a name without any record
// gets NXDOMAIN.
type testDNS struct {
	addr string

	// mu guards the maps below.
	mu       sync.Mutex
	txt      map[string][]string
	a        map[string][]string
	mx       map[string][]string
	servfail map[string]bool
}

func startDNS(t *testing.T) *testDNS {
	t.Helper()
	d := &testDNS{
		txt:      map[string][]string{},
		a:        map[string][]string{},
		mx:       map[string][]string{},
		servfail: map[string]bool{},
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: d, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	d.addr = pc.LocalAddr().String()
	return d
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }

// setTXT replaces the TXT records of name (none: the name has no TXT).
func (d *testDNS) setTXT(name string, txts ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[fqdn(name)] = txts
}

func (d *testDNS) setA(name string, ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.a[fqdn(name)] = ips
}

func (d *testDNS) setServfail(name string, fail bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.servfail[fqdn(name)] = fail
}

// resolver returns a Go resolver that sends every query to d over UDP.
func (d *testDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.addr)
	}}
}

func (d *testDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60, Rrtype: q.Qtype}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.servfail[name] {
		m.Rcode = dns.RcodeServerFailure
		w.WriteMsg(m)
		return
	}
	_, hasTXT := d.txt[name]
	_, hasA := d.a[name]
	_, hasMX := d.mx[name]
	if !hasTXT && !hasA && !hasMX {
		m.Rcode = dns.RcodeNameError
	}
	switch q.Qtype {
	case dns.TypeTXT:
		for _, t := range d.txt[name] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: splitTXT(t)})
		}
	case dns.TypeA:
		for _, ip := range d.a[name] {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.ParseIP(ip)})
		}
	case dns.TypeMX:
		for _, host := range d.mx[name] {
			m.Answer = append(m.Answer, &dns.MX{Hdr: hdr, Preference: 10, Mx: fqdn(host)})
		}
	}
	w.WriteMsg(m)
}

// splitTXT cuts a record's text into strings of at most 255 bytes, as a
// zone must for a long DKIM key (RFC 7208 section 3.3, RFC 6376 section
// 3.6.2.2); resolvers join them again.
func splitTXT(s string) []string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, s[:255])
		s = s[255:]
	}
	return append(parts, s)
}
