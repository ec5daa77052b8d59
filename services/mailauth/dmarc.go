package mailauth

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// dmarcOutcome is the DMARC evaluation for one RFC5322.From domain.
type dmarcOutcome struct {
	Domain string
	Result string // pass, fail, none, temperror, permerror
	Policy string // "" without a record
	Action Action
}

// maxFromDomains bounds the DMARC lookups of one message: each From
// domain costs up to two. Domains past this many are not evaluated (a
// From of more than ten domains is itself a sign of abuse).
const maxFromDomains = 10

// checkDMARC evaluates DMARC for every From domain and returns the
// strictest outcome: a message naming several authors is treated as badly
// as its worst one (RFC 7489 section 6.6.1). Without any From domain the
// result is permerror: there is nothing to align with.
func (v *Verifier) checkDMARC(ctx context.Context, domains []string, spf spfOutcome, dkims []DKIMResult) dmarcOutcome {
	if len(domains) == 0 {
		return dmarcOutcome{Result: "permerror"}
	}
	var worst dmarcOutcome
	for i, d := range domains {
		o := v.evaluate(ctx, d, spf, dkims)
		if i == 0 || stricter(o, worst) {
			worst = o
		}
	}
	return worst
}

// stricter orders outcomes by action, then by how bad the result is.
func stricter(a, b dmarcOutcome) bool {
	if a.Action != b.Action {
		return a.Action > b.Action
	}
	rank := []string{"pass", "none", "permerror", "temperror", "fail"}
	return slices.Index(rank, a.Result) > slices.Index(rank, b.Result)
}

// evaluate applies the DMARC record of domain (RFC 7489 section 6.6.2).
func (v *Verifier) evaluate(ctx context.Context, domain string, spf spfOutcome, dkims []DKIMResult) dmarcOutcome {
	o := dmarcOutcome{Domain: domain}
	rec, atOrg, res := v.lookupDMARC(ctx, domain)
	if rec == nil {
		o.Result = res
		return o
	}
	o.Policy = string(rec.Policy)
	if atOrg && rec.SubdomainPolicy != "" {
		o.Policy = string(rec.SubdomainPolicy)
	}

	if spf.Result == "pass" && aligned(spf.Domain, domain, rec.SPFAlignment) {
		o.Result = "pass"
		return o
	}
	temp := spf.Result == "temperror" && aligned(spf.Domain, domain, rec.SPFAlignment)
	for _, d := range dkims {
		if !aligned(normalizeDomain(d.Domain), domain, rec.DKIMAlignment) {
			continue
		}
		if d.Result == "pass" {
			o.Result = "pass"
			return o
		}
		temp = temp || d.Result == "temperror"
	}
	if temp {
		// An aligned check may have passed but for a DNS failure: let the
		// sender retry rather than punish it.
		o.Result = "temperror"
		return o
	}
	o.Result = "fail"
	o.Action = v.policyAction(o.Policy, rec.Percent)
	return o
}

// policyAction is the action for a DMARC failure under policy; a message
// outside pct gets the next weaker one (RFC 7489 section 6.6.4).
func (v *Verifier) policyAction(policy string, pct *int) Action {
	var a Action
	switch policy {
	case "reject":
		a = Reject
	case "quarantine":
		a = Quarantine
	default:
		return Accept
	}
	if pct != nil && v.intn(100) >= *pct {
		a--
	}
	return a
}

// lookupDMARC finds the DMARC record for domain, at _dmarc.<domain> or,
// if there is none there, at the organizational domain (RFC 7489 section
// 6.6.3). Without a record, res is none, temperror or permerror.
func (v *Verifier) lookupDMARC(ctx context.Context, domain string) (rec *dmarc.Record, atOrg bool, res string) {
	rec, res = v.dmarcRecord(ctx, domain)
	if org := orgDomain(domain); res == "absent" && org != domain {
		rec, res = v.dmarcRecord(ctx, org)
		atOrg = true
	}
	if res == "absent" {
		res = "none"
	}
	return rec, atOrg, res
}

// dmarcRecord fetches and parses the record at _dmarc.<domain>. res is
// "found" with a record, "absent" if there is no DMARC record (the caller
// may look elsewhere), "none" if there are several (section 6.6.3 step 5:
// no policy applies), "permerror" if the record does not parse and
// "temperror" if DNS failed.
func (v *Verifier) dmarcRecord(ctx context.Context, domain string) (*dmarc.Record, string) {
	txts, err := v.resolver().LookupTXT(ctx, "_dmarc."+domain)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, "absent"
	} else if err != nil {
		return nil, "temperror"
	}
	var found []string
	for _, t := range txts {
		version, _, _ := strings.Cut(t, ";")
		k, val, _ := strings.Cut(version, "=")
		if strings.TrimSpace(k) == "v" && strings.TrimSpace(val) == "DMARC1" {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, "absent"
	case 1:
	default:
		return nil, "none"
	}
	rec, err := dmarc.Parse(found[0])
	if err != nil {
		return nil, "permerror"
	}
	return rec, "found"
}

// aligned reports whether an authenticated domain aligns with the From
// domain: the same name (strict), or the same organizational domain
// (relaxed, RFC 7489 section 3.1).
func aligned(authDomain, fromDomain string, mode dmarc.AlignmentMode) bool {
	if authDomain == "" {
		return false
	}
	if authDomain == fromDomain {
		return true
	}
	return mode != dmarc.AlignmentStrict && orgDomain(authDomain) == orgDomain(fromDomain)
}

// orgDomain is a domain's organizational domain: the public suffix plus
// one label (RFC 7489 section 3.2); a name that is itself a public suffix
// is its own.
func orgDomain(domain string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// normalizeDomain lower-cases a domain, drops a final dot and turns
// Unicode labels into A-labels so names compare as DNS does.
func normalizeDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if a, err := idna.Lookup.ToASCII(d); err == nil {
		return a
	}
	return d
}

var addrParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	// Display names only matter to the parser, not to us: any charset will
	// do, undecoded.
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// lenientDomain finds "@domain" in a From field net/mail cannot parse, so a
// malformed From still meets its domain's policy.
var lenientDomain = regexp.MustCompile(`@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)`)

// fromDomains returns the distinct domains of the RFC5322.From
// addresses, the first maxFromDomains of them.
func fromDomains(h *header) []string {
	var domains []string
	for _, f := range h.Get("From") {
		var found []string
		if list, err := addrParser.ParseList(f.Value()); err == nil {
			for _, a := range list {
				if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
					found = append(found, a.Address[i+1:])
				}
			}
		} else {
			for _, m := range lenientDomain.FindAllStringSubmatch(f.Value(), -1) {
				found = append(found, m[1])
			}
		}
		for _, d := range found {
			if d = normalizeDomain(d); d != "" && !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
			if len(domains) == maxFromDomains {
				return domains
			}
		}
	}
	return domains
}
