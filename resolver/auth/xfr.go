package auth

import (
	"log/slog"
	"net/netip"

	"github.com/miekg/dns"

	"facteur/resolver/zone"
)

// xfrBatch is how many records go in one AXFR message.
const xfrBatch = 100

// transfer answers AXFR, and IXFR with the whole zone (RFC 1995 section 4),
// over TCP to a listed secondary whose TSIG verified (RFC 5936 section 4.2).
func (s *Server) transfer(w dns.ResponseWriter, r *dns.Msg) {
	remote := w.RemoteAddr().String()
	z := s.zoneFor(r.Question[0].Name)
	rcode := s.mayTransfer(w, r, z)
	if rcode != dns.RcodeSuccess {
		s.log.Info("dns zone transfer refused", slog.String("remote", remote), slog.String("zone", r.Question[0].Name), slog.String("rcode", dns.RcodeToString[rcode]))
		m := new(dns.Msg)
		m.SetRcode(r, rcode)
		w.WriteMsg(m)
		return
	}
	tsig := r.IsTsig()
	records := append(append([]dns.RR(nil), z.records...), z.soa)
	for start := 0; start < len(records); start += xfrBatch {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		m.Compress = true
		m.Answer = records[start:min(start+xfrBatch, len(records))]
		if tsig != nil {
			signReply(m, tsig, s.opts.Now().Unix())
		}
		if err := w.WriteMsg(m); err != nil {
			s.log.Info("dns zone transfer failed", slog.String("remote", remote), slog.Any("err", err))
			return
		}
		w.TsigTimersOnly(true)
	}
	s.log.Info("dns zone transferred", slog.String("remote", remote), slog.String("zone", z.apex), slog.Uint64("serial", uint64(z.soa.Serial)))
}

// mayTransfer checks a transfer request: TCP, a zone apex of ours, a
// secondary's address and, when that secondary has a key, its valid TSIG.
func (s *Server) mayTransfer(w dns.ResponseWriter, r *dns.Msg, z *authZone) int {
	if !isTCP(w) || z == nil || dns.CanonicalName(r.Question[0].Name) != z.apex {
		return dns.RcodeRefused
	}
	sec, ok := secondaryFor(z, remoteAddr(w))
	if !ok {
		return dns.RcodeRefused
	}
	if sec.TSIGKey == "" {
		return dns.RcodeSuccess
	}
	t := r.IsTsig()
	if t == nil || dns.CanonicalName(t.Hdr.Name) != dns.CanonicalName(sec.TSIGKey) {
		return dns.RcodeRefused
	}
	if w.TsigStatus() != nil {
		return dns.RcodeNotAuth
	}
	return dns.RcodeSuccess
}

func secondaryFor(z *authZone, addr netip.Addr) (zone.Secondary, bool) {
	for _, sec := range z.secondaries {
		if sec.Addr.Unmap() == addr {
			return sec, true
		}
	}
	return zone.Secondary{}, false
}
