package zone

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// SOA timers of every generated zone (RFC 1912 section 2.2 ranges).
const (
	soaRefresh = 3600
	soaRetry   = 900
	soaExpire  = 1209600
)

// Generate returns the zone of the domain whose apex is name, SOA first, then
// in canonical order. Extra records that Validate would refuse are skipped.
func (s *Snapshot) Generate(name string) ([]dns.RR, error) {
	d := s.Domain(name)
	if d == nil {
		return nil, fmt.Errorf("no dns domain %q", name)
	}
	return d.Records(), nil
}

// Records returns the domain's zone, SOA first, then in canonical order.
func (d *Domain) Records() []dns.RR {
	rrs, _ := d.records()
	return rrs
}

// records generates the zone and reports the extra records it had to skip.
func (d *Domain) records() ([]dns.RR, error) {
	g := &generator{d: d, apex: dns.CanonicalName(d.Name), ttl: d.TTL}
	if g.ttl == 0 {
		g.ttl = DefaultTTL
	}
	g.soa()
	g.nameServers()
	g.mailHost()
	g.mail()
	g.policies()
	g.clientDiscovery()
	g.certificates()
	extra, err := d.extraRecords()
	all := dedupe(append(g.rrs, extra...))
	bad := conflicts(all)
	errs := []error{err}
	for _, c := range bad {
		errs = append(errs, fmt.Errorf("record %q: a CNAME cannot share its name with other records", c.String()))
	}
	return sortRecords(without(all, bad)), errors.Join(errs...)
}

type generator struct {
	d    *Domain
	apex string
	ttl  uint32
	rrs  []dns.RR
}

// name returns label.apex (the apex itself for "@").
func (g *generator) name(label string) string {
	if label == "@" {
		return g.apex
	}
	return dns.CanonicalName(label + "." + g.apex)
}

// inZone reports whether an absolute name lies at or below the apex.
func (g *generator) inZone(name string) bool {
	return dns.IsSubDomain(g.apex, dns.CanonicalName(name))
}

func (g *generator) hdr(owner string, typ uint16) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: typ, Class: dns.ClassINET, Ttl: g.ttl}
}

func (g *generator) soa() {
	ns := g.nsList()
	g.rrs = append(g.rrs, &dns.SOA{
		Hdr:     g.hdr(g.apex, dns.TypeSOA),
		Ns:      dns.CanonicalName(ns[0].Name),
		Mbox:    mailbox(g.d.Admin, "hostmaster@"+strings.TrimSuffix(g.apex, ".")),
		Serial:  g.d.Serial,
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  NegativeTTL,
	})
}

func (g *generator) nsList() []NameServer {
	if len(g.d.NS) > 0 {
		return g.d.NS
	}
	return []NameServer{{Name: g.d.Host, Addrs: g.d.Addrs}}
}

func (g *generator) nameServers() {
	for _, ns := range g.nsList() {
		target := dns.CanonicalName(ns.Name)
		g.rrs = append(g.rrs, &dns.NS{Hdr: g.hdr(g.apex, dns.TypeNS), Ns: target})
		if g.inZone(target) {
			g.addresses(target, ns.Addrs)
		}
	}
}

// addresses adds A and AAAA records for owner.
func (g *generator) addresses(owner string, addrs []netip.Addr) {
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			g.rrs = append(g.rrs, &dns.A{Hdr: g.hdr(owner, dns.TypeA), A: a.AsSlice()})
		} else if a.Is6() {
			g.rrs = append(g.rrs, &dns.AAAA{Hdr: g.hdr(owner, dns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
}

// mailHost publishes the host's addresses, its HELO SPF policy and its TLSA
// records when the host is inside this zone.
func (g *generator) mailHost() {
	host := dns.CanonicalName(g.d.Host)
	if !g.inZone(host) {
		return
	}
	g.addresses(host, g.d.Addrs)
	if host != g.apex {
		g.txt(host, "v=spf1 a -all")
	}
	for _, h := range g.d.TLSA {
		g.rrs = append(g.rrs, &dns.TLSA{
			Hdr:          g.hdr("_25._tcp."+host, dns.TypeTLSA),
			Usage:        3, // DANE-EE
			Selector:     1, // SubjectPublicKeyInfo
			MatchingType: 1, // SHA-256
			Certificate:  strings.ToLower(h),
		})
	}
}

func (g *generator) mail() {
	mx := g.d.MX
	if mx == "" {
		mx = g.d.Host
	}
	g.rrs = append(g.rrs, &dns.MX{Hdr: g.hdr(g.apex, dns.TypeMX), Preference: 10, Mx: dns.CanonicalName(mx)})
	spf := g.d.SPF
	if spf == "" {
		spf = DefaultSPF
	}
	g.txt(g.apex, spf)
	for _, k := range g.d.DKIM {
		g.txt(g.name(k.Selector+"._domainkey"), k.Value)
	}
}

func (g *generator) policies() {
	policy := g.d.DMARC.Policy
	if policy == "" {
		policy = DefaultDMARCPolicy
	}
	dmarc := "v=DMARC1; p=" + policy
	if g.d.DMARC.RUA != "" {
		dmarc += "; rua=" + mailto(g.d.DMARC.RUA)
	}
	g.txt(g.name("_dmarc"), dmarc)
	if g.d.MTASTSID != "" {
		g.txt(g.name("_mta-sts"), "v=STSv1; id="+g.d.MTASTSID)
		g.hostAlias("mta-sts")
	}
	if g.d.TLSRPT != "" {
		g.txt(g.name("_smtp._tls"), "v=TLSRPTv1; rua="+mailto(g.d.TLSRPT))
	}
}

// srvServices are the RFC 6186 client discovery records; implicit TLS is
// preferred (lower priority) as RFC 8314 section 5.1 recommends.
var srvServices = []struct {
	label    string
	priority uint16
	port     uint16
}{
	{"_submissions._tcp", 0, 465},
	{"_submission._tcp", 10, 587},
	{"_imaps._tcp", 0, 993},
	{"_imap._tcp", 10, 143},
	{"_pop3s._tcp", 0, 995},
	{"_autodiscover._tcp", 0, 443},
}

func (g *generator) clientDiscovery() {
	host := dns.CanonicalName(g.d.Host)
	for _, s := range srvServices {
		g.rrs = append(g.rrs, &dns.SRV{
			Hdr:      g.hdr(g.name(s.label), dns.TypeSRV),
			Priority: s.priority, Weight: 1, Port: s.port, Target: host,
		})
	}
	g.hostAlias("autoconfig")
	g.hostAlias("autodiscover")
}

// hostAlias publishes label.apex with the box's addresses, or as a CNAME to
// the host when the snapshot has no addresses.
func (g *generator) hostAlias(label string) {
	owner := g.name(label)
	if len(g.d.Addrs) > 0 {
		g.addresses(owner, g.d.Addrs)
		return
	}
	g.rrs = append(g.rrs, &dns.CNAME{Hdr: g.hdr(owner, dns.TypeCNAME), Target: dns.CanonicalName(g.d.Host)})
}

func (g *generator) certificates() {
	for _, ca := range g.d.CAA {
		g.rrs = append(g.rrs, &dns.CAA{Hdr: g.hdr(g.apex, dns.TypeCAA), Flag: 0, Tag: "issue", Value: ca})
	}
}

func (g *generator) txt(owner, value string) {
	g.rrs = append(g.rrs, &dns.TXT{Hdr: g.hdr(owner, dns.TypeTXT), Txt: SplitTXT(value)})
}

// SplitTXT splits a TXT value into character-strings of at most 255 bytes
// (RFC 1035 section 3.3.14; RFC 6376 section 3.6.2.2 for DKIM), escaped the
// way miekg/dns expects them in TXT.Txt.
func SplitTXT(value string) []string {
	var out []string
	for len(value) > 255 {
		out = append(out, escapeTXT(value[:255]))
		value = value[255:]
	}
	return append(out, escapeTXT(value))
}

func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mailbox turns an address into an SOA RNAME (RFC 1035 section 8: dots in
// the local part escaped).
func mailbox(addr, fallback string) string {
	if addr == "" || !strings.Contains(addr, "@") {
		addr = fallback
	}
	local, domain, _ := strings.Cut(addr, "@")
	return dns.CanonicalName(strings.ReplaceAll(local, ".", `\.`) + "." + domain)
}

func mailto(addr string) string {
	if strings.HasPrefix(addr, "mailto:") {
		return addr
	}
	return "mailto:" + addr
}

// refusedTypes may not be added by hand: the zone's SOA is generated,
// DNSSEC is a later step, and DNAME would be a delegation of sorts.
var refusedTypes = map[uint16]bool{
	dns.TypeSOA: true, dns.TypeDNAME: true, dns.TypeRRSIG: true, dns.TypeNSEC: true,
	dns.TypeNSEC3: true, dns.TypeNSEC3PARAM: true, dns.TypeOPT: true, dns.TypeTSIG: true,
	dns.TypeDNSKEY: true, dns.TypeDS: true, dns.TypeCDS: true, dns.TypeCDNSKEY: true,
}

// extraRecords parses the hand-added records, returning the usable ones and
// an error naming each refused one.
func (d *Domain) extraRecords() ([]dns.RR, error) {
	apex := dns.CanonicalName(d.Name)
	ttl := d.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	var out []dns.RR
	var errs []error
	for _, line := range d.Extra {
		rr, err := parseExtra(line, apex, ttl)
		if err != nil {
			errs = append(errs, fmt.Errorf("extra record %q: %w", line, err))
			continue
		}
		out = append(out, rr)
	}
	return out, errors.Join(errs...)
}

func parseExtra(line, apex string, ttl uint32) (dns.RR, error) {
	zp := dns.NewZoneParser(strings.NewReader(line), apex, "")
	zp.SetDefaultTTL(ttl)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if !ok || rr == nil {
		return nil, errors.New("no record")
	}
	if _, more := zp.Next(); more {
		return nil, errors.New("one record per line")
	}
	h := rr.Header()
	h.Name = dns.CanonicalName(h.Name)
	switch {
	case h.Class != dns.ClassINET:
		return nil, errors.New("class must be IN")
	case !dns.IsSubDomain(apex, h.Name):
		return nil, errors.New("name outside the zone")
	case strings.HasPrefix(h.Name, "*.") || strings.Contains(h.Name, ".*."):
		return nil, errors.New("wildcards are not served")
	case refusedTypes[h.Rrtype]:
		return nil, fmt.Errorf("type %s cannot be added by hand", dns.TypeToString[h.Rrtype])
	case h.Rrtype == dns.TypeNS && h.Name != apex:
		return nil, errors.New("delegations are not served")
	case h.Rrtype == dns.TypeCNAME && h.Name == apex:
		return nil, errors.New("no CNAME at the apex")
	}
	return rr, nil
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
