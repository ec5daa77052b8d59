package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Static is a small authoritative server for test zones given as zone-file
// text. Unlike the box's own server it serves delegations: NS records below
// an apex make a referral, with every address record of the zone data whose
// owner is an NS target as glue (in or out of bailiwick, as written: tests
// use that to play a poisoning TLD).
type Static struct {
	zones map[string][]dns.RR // apex → records

	// mu protects log.
	mu  sync.Mutex
	log []string
}

// NewStatic parses zones: apex → zone-file text relative to the apex.
func NewStatic(zones map[string]string) (*Static, error) {
	s := &Static{zones: map[string][]dns.RR{}}
	for apex, text := range zones {
		apex = dns.CanonicalName(apex)
		zp := dns.NewZoneParser(strings.NewReader(text), apex, "")
		zp.SetDefaultTTL(3600)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			rr.Header().Name = dns.CanonicalName(rr.Header().Name)
			s.zones[apex] = append(s.zones[apex], rr)
		}
		if err := zp.Err(); err != nil {
			return nil, fmt.Errorf("zone %s: %w", apex, err)
		}
	}
	return s, nil
}

// Queries returns "name type net" for every query received, in order.
func (s *Static) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ServeDNS implements dns.Handler.
func (s *Static) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	s.mu.Lock()
	s.log = append(s.log, fmt.Sprintf("%s %s %s", strings.ToLower(q.Name), dns.TypeToString[q.Qtype], network))
	s.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(r)
	s.answer(m, q)
	size := dns.MaxMsgSize
	if network == "udp" {
		size = dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
	}
	m.Truncate(size)
	w.WriteMsg(m)
}

func (s *Static) answer(m *dns.Msg, q dns.Question) {
	name := dns.CanonicalName(q.Name)
	apex := s.zoneOf(name)
	if apex == "" {
		m.Rcode = dns.RcodeRefused
		return
	}
	rrs := s.zones[apex]
	if cut := cutBelow(rrs, apex, name); cut != "" {
		m.Ns = select_(rrs, cut, dns.TypeNS)
		for _, ns := range m.Ns {
			target := ns.(*dns.NS).Ns
			m.Extra = append(m.Extra, select_(rrs, target, dns.TypeA)...)
			m.Extra = append(m.Extra, select_(rrs, target, dns.TypeAAAA)...)
		}
		// Also every other address below the cut: a resolver must take
		// only the NS targets' addresses as glue.
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeA && dns.IsSubDomain(cut, rr.Header().Name) && !hasRR(m.Extra, rr) {
				m.Extra = append(m.Extra, dns.Copy(rr))
			}
		}
		return
	}
	m.Authoritative = true
	if ans := select_(rrs, name, q.Qtype); len(ans) > 0 {
		m.Answer = ans
		return
	}
	if cname := select_(rrs, name, dns.TypeCNAME); len(cname) > 0 {
		m.Answer = cname
		return
	}
	m.Ns = select_(rrs, apex, dns.TypeSOA)
	if !exists(rrs, name) {
		m.Rcode = dns.RcodeNameError
	}
}

// zoneOf returns the longest apex holding name.
func (s *Static) zoneOf(name string) string {
	best := ""
	for apex := range s.zones {
		if dns.IsSubDomain(apex, name) && len(apex) > len(best) {
			best = apex
		}
	}
	return best
}

// cutBelow returns the highest delegation point between apex and name.
func cutBelow(rrs []dns.RR, apex, name string) string {
	labels := dns.SplitDomainName(name)
	apexLabels := dns.CountLabel(apex)
	for i := len(labels) - apexLabels - 1; i >= 0; i-- {
		cand := dns.Fqdn(strings.Join(labels[i:], "."))
		if len(select_(rrs, cand, dns.TypeNS)) > 0 {
			return cand
		}
	}
	return ""
}

func select_(rrs []dns.RR, name string, t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Name == dns.CanonicalName(name) && (rr.Header().Rrtype == t || t == dns.TypeANY) {
			out = append(out, dns.Copy(rr))
		}
	}
	return out
}

func exists(rrs []dns.RR, name string) bool {
	for _, rr := range rrs {
		if dns.IsSubDomain(name, rr.Header().Name) {
			return true
		}
	}
	return false
}

func hasRR(rrs []dns.RR, rr dns.RR) bool {
	for _, x := range rrs {
		if dns.IsDuplicate(x, rr) {
			return true
		}
	}
	return false
}
