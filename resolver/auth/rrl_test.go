package auth

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestRRL sends 400 queries from one /24 within one (fake) second: 200 are
// answered, of the 200 over the limit every second one slips out truncated
// and the others are dropped. Another /24, TCP and the trusted path are not
// limited, and the next second starts afresh.
func TestRRL(t *testing.T) {
	clock := newFakeClock()
	srv := newServer(t, Options{Now: clock.Now})
	q := new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeA)

	count := func(w *fakeWriter) (answered, slipped int) {
		for _, m := range w.written {
			if m.Truncated && len(m.Answer) == 0 {
				slipped++
			} else if len(m.Answer) == 1 {
				answered++
			}
		}
		return
	}
	w := udpWriter("198.51.100.7")
	for i := range 400 {
		// Spread over one /24 and within one second.
		w.remote = &net.UDPAddr{IP: net.IPv4(198, 51, 100, byte(i%250)), Port: 1000 + i}
		srv.ServeDNS(w, q)
		clock.Advance(time.Millisecond)
	}
	answered, slipped := count(w)
	if answered != 200 || slipped != 100 || len(w.written) != 300 {
		t.Errorf("got %d answered, %d slipped, %d sent; want 200, 100, 300", answered, slipped, len(w.written))
	}

	other := udpWriter("203.0.113.1")
	srv.ServeDNS(other, q)
	if a, _ := count(other); a != 1 {
		t.Errorf("another /24 was limited")
	}
	tcp := &fakeWriter{remote: &net.TCPAddr{IP: net.ParseIP("198.51.100.7"), Port: 1}}
	srv.ServeDNS(tcp, q)
	trusted := udpWriter("198.51.100.7")
	srv.ServeTrusted(trusted, q)
	if a, _ := count(tcp); a != 1 {
		t.Errorf("TCP was limited")
	}
	if a, _ := count(trusted); a != 1 {
		t.Errorf("the trusted path was limited")
	}

	clock.Advance(time.Second)
	next := udpWriter("198.51.100.7")
	srv.ServeDNS(next, q)
	if a, _ := count(next); a != 1 {
		t.Errorf("the next second is still limited")
	}
}

func TestRRLIPv6Prefix(t *testing.T) {
	clock := newFakeClock()
	srv := newServer(t, Options{Now: clock.Now, RRL: RRLOptions{ResponsesPerSecond: 2, Slip: -1}})
	q := new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeA)
	for _, ip := range []string{"2001:db8:0:1::1", "2001:db8:0:2::1", "2001:db8:0:3::1"} {
		srv.ServeDNS(udpWriter(ip), q) // one /56: the third is dropped
	}
	w := udpWriter("2001:db8:0:ff::1")
	srv.ServeDNS(w, q)
	if len(w.written) != 0 {
		t.Errorf("fourth response in the same /56 was sent")
	}
	w = udpWriter("2001:db8:0:100::1")
	srv.ServeDNS(w, q)
	if len(w.written) != 1 {
		t.Errorf("another /56 was limited")
	}
}

func TestRRLTableBounded(t *testing.T) {
	l := newRateLimiter(RRLOptions{MaxPrefixes: 100})
	now := time.Unix(1_800_000_000, 0)
	for i := range 1000 {
		l.decide(netipFrom4(10, byte(i>>8), byte(i), 1), now)
	}
	if n := len(l.buckets); n > 100 {
		t.Errorf("got %d prefixes tracked, want at most 100", n)
	}
}
