// Package zonedns is a small DNS server for tests and load tools: it
// answers from records given in zone-file syntax (such as `facteur dns
// records` prints), and says NXDOMAIN for names it has no record of.
package zonedns

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server answers from its records; the zero value has none.
type Server struct {
	mu  sync.Mutex
	rrs []dns.RR
}

// Load adds the records of a zone-file text.
func (s *Server) Load(text string) error {
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.rrs = append(s.rrs, rrs...)
	s.mu.Unlock()
	return nil
}

// TXT returns every TXT record as owner name (lower case, with the final
// dot) → its strings joined.
func (s *Server) TXT() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, rr := range s.rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out[strings.ToLower(t.Hdr.Name)] = strings.Join(t.Txt, "")
		}
	}
	return out
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	exists := false
	s.mu.Lock()
	for _, rr := range s.rrs {
		if strings.EqualFold(rr.Header().Name, q.Name) {
			exists = true
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	s.mu.Unlock()
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

// Start serves on addr over UDP and TCP (the same port; with port 0 the
// system picks one free for both) and returns the address and a function
// that stops it.
func (s *Server) Start(addr string) (string, func(), error) {
	pc, l, err := listenBoth(addr)
	if err != nil {
		return "", nil, err
	}
	servers := []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}}
	for _, srv := range servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
	}
	return pc.LocalAddr().String(), func() {
		for _, srv := range servers {
			srv.Shutdown()
		}
	}, nil
}

// listenBoth opens UDP and TCP on one port. With port 0 the UDP port the
// system picks may be taken for TCP: then it tries another.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for tries := 0; ; tries++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns over udp on %s: %w", addr, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if port != "0" || tries == 20 {
			return nil, nil, fmt.Errorf("dns over tcp on %s: %w", pc.LocalAddr(), err)
		}
	}
}
