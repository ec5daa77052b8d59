package zone

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// ZoneFile returns the zone of the domain whose apex is name in zone-file
// syntax (RFC 1035 section 5): the text `facteur dns records` prints, made
// from the same records the server answers with.
func (s *Snapshot) ZoneFile(name string) (string, error) {
	d := s.Domain(name)
	if d == nil {
		return "", fmt.Errorf("no dns domain %q", name)
	}
	return d.ZoneFile(), nil
}

// ZoneFile returns the domain's zone in zone-file syntax.
func (d *Domain) ZoneFile() string {
	return FormatZone(dns.CanonicalName(d.Name), d.Serial, d.Records())
}

// FormatZone prints records in zone-file syntax with a header naming the
// zone and its serial.
func FormatZone(apex string, serial uint32, rrs []dns.RR) string {
	var b strings.Builder
	fmt.Fprintf(&b, "; zone %s serial %d\n$ORIGIN %s\n", apex, serial, apex)
	for _, rr := range rrs {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// dedupe drops records that repeat an earlier one (same owner, type and
// data; the TTL does not count).
func dedupe(rrs []dns.RR) []dns.RR {
	seen := make(map[string]bool, len(rrs))
	out := rrs[:0:0]
	for _, rr := range rrs {
		k := rrKey(rr)
		if !seen[k] {
			seen[k] = true
			out = append(out, rr)
		}
	}
	return out
}

func rrKey(rr dns.RR) string {
	c := dns.Copy(rr)
	c.Header().Ttl = 0
	c.Header().Name = dns.CanonicalName(c.Header().Name)
	return c.String()
}

// conflicts returns the CNAME records whose owner has other records too
// (RFC 1034 section 3.6.2), or that share their owner with another CNAME.
func conflicts(rrs []dns.RR) []dns.RR {
	count := map[string]int{}
	for _, rr := range rrs {
		count[dns.CanonicalName(rr.Header().Name)]++
	}
	var bad []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeCNAME && count[dns.CanonicalName(rr.Header().Name)] > 1 {
			bad = append(bad, rr)
		}
	}
	return bad
}

func without(rrs, drop []dns.RR) []dns.RR {
	return slices.DeleteFunc(rrs, func(rr dns.RR) bool { return slices.Contains(drop, rr) })
}

// sortRecords orders a zone: the SOA first, then by owner in canonical order
// (RFC 4034 section 6.1), then by type, then by data.
func sortRecords(rrs []dns.RR) []dns.RR {
	slices.SortStableFunc(rrs, func(a, b dns.RR) int {
		as, bs := a.Header().Rrtype == dns.TypeSOA, b.Header().Rrtype == dns.TypeSOA
		switch {
		case as != bs && as:
			return -1
		case as != bs:
			return 1
		}
		if c := CompareNames(a.Header().Name, b.Header().Name); c != 0 {
			return c
		}
		if a.Header().Rrtype != b.Header().Rrtype {
			return int(a.Header().Rrtype) - int(b.Header().Rrtype)
		}
		return strings.Compare(a.String(), b.String())
	})
	return rrs
}

// CompareNames compares two domain names in canonical order: label by label
// from the right, case-insensitively.
func CompareNames(a, b string) int {
	la := dns.SplitDomainName(strings.ToLower(a))
	lb := dns.SplitDomainName(strings.ToLower(b))
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if c := strings.Compare(la[i], lb[j]); c != 0 {
			return c
		}
	}
	return len(la) - len(lb)
}
