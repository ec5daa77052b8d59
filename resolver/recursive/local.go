package recursive

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// localTTL is the TTL of locally made answers.
const localTTL = 300

// localNames are the names answered without asking anyone: static LAN
// hosts (and their PTR records), and the special zones.
type localNames struct {
	addrs map[string][]netip.Addr // host name → addresses
	ptr   map[string]string       // reverse name → host name
}

func buildLocal(hosts []Host) *localNames {
	l := &localNames{addrs: map[string][]netip.Addr{}, ptr: map[string]string{
		"1.0.0.127.in-addr.arpa.":                     "localhost.",
		"1." + strings.Repeat("0.", 31) + "ip6.arpa.": "localhost.",
	}}
	for _, h := range hosts {
		name := dns.CanonicalName(h.Name)
		for _, a := range h.Addrs {
			a = a.Unmap()
			l.addrs[name] = append(l.addrs[name], a)
			if rev, err := dns.ReverseAddr(a.String()); err == nil {
				l.ptr[rev] = name
			}
		}
	}
	return l
}

// specialZones are answered locally and never sent upstream: RFC 6761
// (localhost, invalid), RFC 8375 (home.arpa) and the RFC 6303 reverse zones
// (RFC 1918, loopback, link-local, documentation, RFC 6598, ULA ...).
var specialZones = buildSpecialZones()

func buildSpecialZones() map[string]bool {
	z := map[string]bool{"localhost.": true, "invalid.": true, "home.arpa.": true}
	for _, s := range []string{
		"10", "168.192", "0", "127", "254.169", "2.0.192", "100.51.198", "113.0.203",
		"255.255.255.255",
	} {
		z[s+".in-addr.arpa."] = true
	}
	for i := 16; i <= 31; i++ {
		z[strconv.Itoa(i)+".172.in-addr.arpa."] = true
	}
	for i := 64; i <= 127; i++ {
		z[strconv.Itoa(i)+".100.in-addr.arpa."] = true
	}
	zeros := strings.Repeat("0.", 31)
	for _, s := range []string{
		"0." + zeros, "1." + zeros, "d.f.", "8.e.f.", "9.e.f.", "a.e.f.", "b.e.f.", "8.b.d.0.1.0.0.2.",
	} {
		z[s+"ip6.arpa."] = true
	}
	return z
}

// specialZone returns the special zone holding name, or "".
func specialZone(name string) string {
	for z := name; ; {
		if specialZones[z] {
			return z
		}
		p, ok := parent(z)
		if !ok {
			return ""
		}
		z = p
	}
}

// has reports whether q is answered locally: a static host's addresses,
// a static PTR, or any question in a special zone.
func (l *localNames) has(q dns.Question) bool {
	name := dns.CanonicalName(q.Name)
	switch {
	case specialZone(name) != "":
		return true
	case l.addrs[name] != nil:
		return q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY
	}
	return l.ptr[name] != "" && (q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY)
}

// answer makes the local answer for q, if name is local.
func (l *localNames) answer(q dns.Question) (*Answer, bool) {
	name := dns.CanonicalName(q.Name)
	zone := specialZone(name)
	if addrs := l.addrs[name]; addrs != nil {
		return l.hostAnswer(q, addrs, zone), true
	}
	if target := l.ptr[name]; target != "" {
		a := &Answer{Rcode: dns.RcodeSuccess}
		if q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY {
			a.Answer = []dns.RR{&dns.PTR{Hdr: rrHdr(q.Name, dns.TypePTR), Ptr: target}}
		} else if zone != "" {
			a.Ns = []dns.RR{localSOA(zone)}
		}
		return a, true
	}
	if zone == "" {
		return nil, false
	}
	return zoneAnswer(q, name, zone), true
}

func (l *localNames) hostAnswer(q dns.Question, addrs []netip.Addr, zone string) *Answer {
	a := &Answer{Rcode: dns.RcodeSuccess}
	for _, ip := range addrs {
		if rr := addrRR(q.Name, ip, q.Qtype); rr != nil {
			a.Answer = append(a.Answer, rr)
		}
	}
	if len(a.Answer) == 0 && zone != "" {
		a.Ns = []dns.RR{localSOA(zone)}
	}
	return a
}

// zoneAnswer answers inside a special zone: the apex has its SOA and NS,
// localhost has loopback addresses, everything else does not exist.
func zoneAnswer(q dns.Question, name, zone string) *Answer {
	a := &Answer{Rcode: dns.RcodeSuccess}
	switch {
	case zone == "localhost.":
		for _, ip := range []netip.Addr{netip.IPv6Loopback(), netip.AddrFrom4([4]byte{127, 0, 0, 1})} {
			if rr := addrRR(q.Name, ip, q.Qtype); rr != nil {
				a.Answer = append(a.Answer, rr)
			}
		}
	case name == zone && q.Qtype == dns.TypeSOA:
		a.Answer = []dns.RR{localSOA(zone)}
	case name == zone && q.Qtype == dns.TypeNS:
		a.Answer = []dns.RR{&dns.NS{Hdr: rrHdr(zone, dns.TypeNS), Ns: "localhost."}}
	case name != zone:
		a.Rcode = dns.RcodeNameError
	}
	if len(a.Answer) == 0 {
		a.Ns = []dns.RR{localSOA(zone)}
	}
	return a
}

func addrRR(name string, ip netip.Addr, qtype uint16) dns.RR {
	any := qtype == dns.TypeANY
	switch {
	case ip.Is4() && (qtype == dns.TypeA || any):
		return &dns.A{Hdr: rrHdr(name, dns.TypeA), A: ip.AsSlice()}
	case ip.Is6() && (qtype == dns.TypeAAAA || any):
		return &dns.AAAA{Hdr: rrHdr(name, dns.TypeAAAA), AAAA: ip.AsSlice()}
	}
	return nil
}

// localSOA is the SOA RFC 6303 section 3 gives the locally served zones.
func localSOA(zone string) dns.RR {
	return &dns.SOA{
		Hdr: rrHdr(zone, dns.TypeSOA), Ns: zone, Mbox: "nobody.invalid.",
		Serial: 1, Refresh: 3600, Retry: 1200, Expire: 604800, Minttl: 10800,
	}
}

func rrHdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: localTTL}
}
