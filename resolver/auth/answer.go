package auth

import (
	"strings"

	"github.com/miekg/dns"
)

// maxChase bounds in-zone CNAME chains.
const maxChase = 8

// Reply builds the answer to a query (not a zone transfer). tcp tells the
// size limit; tsigStatus is the dns.Server's verdict on the request's TSIG.
func (s *Server) Reply(r *dns.Msg, tcp bool, tsigStatus error) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = false
	opt := r.IsEdns0()
	if opt != nil {
		m.SetEdns0(uint16(s.opts.MaxUDPSize), false)
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
	}
	if t := r.IsTsig(); t != nil {
		if tsigStatus != nil {
			m.Rcode = dns.RcodeNotAuth
			return m
		}
		defer signReply(m, t, s.opts.Now().Unix())
	}
	if rcode := s.answer(m, r, tcp); rcode != dns.RcodeSuccess {
		m.Rcode = rcode
	}
	m.Truncate(s.sizeLimit(opt, tcp))
	return m
}

// answer fills m and returns its rcode.
func (s *Server) answer(m, r *dns.Msg, tcp bool) int {
	if r.Opcode != dns.OpcodeQuery {
		return dns.RcodeNotImplemented
	}
	if len(r.Question) != 1 {
		return dns.RcodeFormatError
	}
	q := r.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return dns.RcodeRefused
	}
	z := s.zoneFor(q.Name)
	if z == nil {
		return dns.RcodeRefused
	}
	m.Authoritative = true
	if q.Qtype == dns.TypeANY && !tcp {
		m.Answer = []dns.RR{&dns.HINFO{Hdr: hdr(q.Name, dns.TypeHINFO, z.soa.Hdr.Ttl), Cpu: "RFC8482"}}
		return dns.RcodeSuccess
	}
	return z.lookup(m, q)
}

// lookup answers q from the zone, following CNAMEs inside it.
func (z *authZone) lookup(m *dns.Msg, q dns.Question) int {
	name := dns.CanonicalName(q.Name)
	owner := q.Name // the first owner keeps the question's spelling
	for range maxChase {
		byType := z.names[name]
		if byType == nil {
			m.Ns = []dns.RR{z.negativeSOA()}
			if z.exists[name] {
				return dns.RcodeSuccess // empty non-terminal: NODATA
			}
			return dns.RcodeNameError
		}
		if rrs := z.matching(name, byType, q.Qtype); len(rrs) > 0 {
			m.Answer = append(m.Answer, withOwner(rrs, owner)...)
			z.addAdditional(m, rrs)
			return dns.RcodeSuccess
		}
		cname := byType[dns.TypeCNAME]
		if len(cname) == 0 {
			m.Ns = []dns.RR{z.negativeSOA()}
			return dns.RcodeSuccess // NODATA
		}
		m.Answer = append(m.Answer, withOwner(cname, owner)...)
		name = dns.CanonicalName(cname[0].(*dns.CNAME).Target)
		owner = name
		if !dns.IsSubDomain(z.apex, name) {
			return dns.RcodeSuccess // the resolver follows it
		}
	}
	return dns.RcodeSuccess
}

// matching returns the RRset of qtype at name; for ANY (over TCP only)
// every record at name, in zone order.
func (z *authZone) matching(name string, byType map[uint16][]dns.RR, qtype uint16) []dns.RR {
	if qtype != dns.TypeANY {
		return byType[qtype]
	}
	var all []dns.RR
	for _, rr := range z.records {
		if rr.Header().Name == name {
			all = append(all, rr)
		}
	}
	return all
}

// addAdditional adds the in-zone addresses of MX, SRV and NS targets.
func (z *authZone) addAdditional(m *dns.Msg, rrs []dns.RR) {
	for _, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *dns.MX:
			target = v.Mx
		case *dns.SRV:
			target = v.Target
		case *dns.NS:
			target = v.Ns
		default:
			continue
		}
		for _, a := range z.addressesOf(target) {
			if !containsRR(m.Extra, a) {
				m.Extra = append(m.Extra, a)
			}
		}
	}
}

func containsRR(rrs []dns.RR, rr dns.RR) bool {
	for _, x := range rrs {
		if x == rr {
			return true
		}
	}
	return false
}

// withOwner returns copies of rrs named owner.
func withOwner(rrs []dns.RR, owner string) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		out[i] = c
	}
	return out
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// sizeLimit is the largest response: 64 KiB over TCP; over UDP the client's
// EDNS0 buffer (at least 512), capped at MaxUDPSize (RFC 6891 section 6.2.5).
func (s *Server) sizeLimit(opt *dns.OPT, tcp bool) int {
	if tcp {
		return dns.MaxMsgSize
	}
	if opt == nil {
		return dns.MinMsgSize
	}
	return max(dns.MinMsgSize, min(int(opt.UDPSize()), s.opts.MaxUDPSize))
}

// slipped is the empty truncated reply RRL sends instead of a dropped one,
// telling a real client to retry over TCP.
func slipped(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Truncated = true
	if r.IsEdns0() != nil {
		m.SetEdns0(dns.MinMsgSize, false)
	}
	return m
}

func signReply(m *dns.Msg, t *dns.TSIG, now int64) {
	m.SetTsig(strings.ToLower(t.Hdr.Name), t.Algorithm, t.Fudge, now)
}
