package mailauth

import (
	"context"
	"strings"

	"blitiri.com.ar/go/spf"
)

// spfOutcome is an SPF result and the identity it is about.
type spfOutcome struct {
	Result string
	Domain string // the domain checked
	Helo   bool   // Domain is the HELO name (null sender), not MAIL FROM's
}

// checkSPF checks the MAIL FROM identity, or for the null sender the HELO
// identity as "postmaster@<helo>" (RFC 7208 section 2.4).
func (v *Verifier) checkSPF(ctx context.Context, in Input) spfOutcome {
	sender := in.MailFrom
	out := spfOutcome{}
	if _, domain, ok := strings.Cut(sender, "@"); ok && domain != "" {
		out.Domain = domain
	} else {
		sender, out.Domain, out.Helo = "postmaster@"+in.Helo, in.Helo, true
	}
	out.Domain = normalizeDomain(out.Domain)
	if out.Domain == "" || strings.HasPrefix(out.Domain, "[") {
		out.Result = "none" // no domain to check (address literal HELO)
		return out
	}
	res, _ := spf.CheckHostWithSender(in.IP, in.Helo, sender,
		spf.WithContext(ctx), spf.WithResolver(v.resolver()))
	out.Result = string(res)
	return out
}
