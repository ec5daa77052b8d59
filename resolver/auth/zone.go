package auth

import (
	"strings"

	"github.com/miekg/dns"

	"facteur/resolver/zone"
)

// authZone is one zone, indexed for answering. It is never changed after
// build: a new snapshot builds new zones.
type authZone struct {
	apex        string
	soa         *dns.SOA
	records     []dns.RR // SOA first, for AXFR
	names       map[string]map[uint16][]dns.RR
	exists      map[string]bool // owner names and empty non-terminals
	secondaries []zone.Secondary
}

func buildZone(d *zone.Domain) *authZone {
	z := &authZone{
		apex:        dns.CanonicalName(d.Name),
		records:     d.Records(),
		names:       map[string]map[uint16][]dns.RR{},
		exists:      map[string]bool{},
		secondaries: d.Secondaries,
	}
	for _, rr := range z.records {
		h := rr.Header()
		h.Name = dns.CanonicalName(h.Name)
		if soa, ok := rr.(*dns.SOA); ok && z.soa == nil {
			z.soa = soa
		}
		byType := z.names[h.Name]
		if byType == nil {
			byType = map[uint16][]dns.RR{}
			z.names[h.Name] = byType
		}
		byType[h.Rrtype] = append(byType[h.Rrtype], rr)
		z.markExists(h.Name)
	}
	return z
}

// markExists records name and every ancestor up to the apex, so that an
// empty non-terminal answers NODATA, not NXDOMAIN (RFC 8020 section 2).
func (z *authZone) markExists(name string) {
	for {
		if z.exists[name] {
			return
		}
		z.exists[name] = true
		if name == z.apex {
			return
		}
		_, rest, ok := strings.Cut(name, ".")
		if !ok || rest == "" {
			return
		}
		name = rest
	}
}

// negativeSOA is the SOA for the authority section of a negative answer,
// its TTL the negative caching TTL (RFC 2308 section 3).
func (z *authZone) negativeSOA() dns.RR {
	soa := dns.Copy(z.soa).(*dns.SOA)
	soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
	return soa
}

// addressesOf returns the zone's A and AAAA records for name.
func (z *authZone) addressesOf(name string) []dns.RR {
	byType := z.names[dns.CanonicalName(name)]
	if byType == nil {
		return nil
	}
	return append(append([]dns.RR(nil), byType[dns.TypeA]...), byType[dns.TypeAAAA]...)
}
