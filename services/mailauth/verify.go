package mailauth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// Verifier checks inbound mail (on the MX port) and writes the results.
type Verifier struct {
	Hostname string           // authserv-id in Authentication-Results (RFC 8601)
	Resolver Resolver         // nil: net.DefaultResolver
	Now      func() time.Time // nil: time.Now

	// Rand returns a number in [0, n) for DMARC's pct sampling; nil:
	// math/rand/v2.IntN.
	Rand func(n int) int
}

// Input is what the SMTP session knows about a message.
type Input struct {
	IP       net.IP // the SMTP client
	Helo     string
	MailFrom string // "" for the null sender (SPF then checks the HELO identity)
}

// Action is what the receiver should do with a message under DMARC.
type Action int

const (
	Accept Action = iota
	Quarantine
	Reject
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// DKIMResult is the outcome of one DKIM-Signature field. Result is pass,
// fail, neutral (not checked: more signatures than we verify), temperror or
// permerror.
type DKIMResult struct{ Domain, Selector, Result string }

// Verdict is the outcome of Check.
type Verdict struct {
	SPF        string       // pass, fail, softfail, neutral, none, temperror, permerror
	SPFDomain  string       // the MAIL FROM domain, or the HELO name for the null sender
	DKIM       []DKIMResult // every signature, in header order
	DMARC      string       // pass, fail, none, temperror, permerror
	Policy     string       // the published DMARC policy in force: none, quarantine, reject ("" if no record)
	FromDomain string       // RFC5322.From domain
	// Action is Reject only for DMARC fail with p=reject, Quarantine for
	// p=quarantine; a message outside pct gets the next weaker action
	// (RFC 7489 section 6.6.4).
	Action Action
	// ARC is the chain validation result (RFC 8617): pass, fail or none.
	// It is reported only; it changes no Action.
	ARC string
	// Header is the complete Authentication-Results field, ending in CRLF.
	Header string
}

// maxSignatures is how many DKIM signatures of one message are verified;
// the rest are reported as neutral. Each costs a DNS query.
const maxSignatures = 8

// Check reads the whole message once from msg and returns the verdict.
// DNS errors become temperror results, never a Go error; an error means msg
// could not be read or has no parsable header (or one over 1 MiB).
func (v *Verifier) Check(ctx context.Context, in Input, msg io.Reader) (*Verdict, error) {
	br := bufio.NewReaderSize(msg, 64<<10)
	h, err := readHeader(br)
	if err != nil {
		return nil, fmt.Errorf("check message: %w", err)
	}

	// SPF needs only the envelope: its DNS queries run while the body
	// streams through the DKIM and ARC hashes.
	spfDone := make(chan spfOutcome, 1)
	go func() { spfDone <- v.checkSPF(ctx, in) }()

	arc := startARC(h)
	body := io.TeeReader(br, arc.Writer())
	dkims, err := v.checkDKIM(ctx, h, body)
	if err == nil {
		_, err = io.Copy(io.Discard, body)
	}
	spf := <-spfDone
	if err != nil {
		return nil, fmt.Errorf("check message: read: %w", err)
	}

	d := v.checkDMARC(ctx, fromDomains(h), spf, dkims)
	vd := &Verdict{
		ARC:        arc.finish(ctx, v),
		SPF:        spf.Result,
		SPFDomain:  spf.Domain,
		DKIM:       dkims,
		DMARC:      d.Result,
		Policy:     d.Policy,
		FromDomain: d.Domain,
		Action:     d.Action,
	}
	vd.Header = formatAuthResults(v.Hostname, spf, dkims, vd.ARC, d)
	return vd, nil
}

// resolver returns the Resolver to use, wrapped so that every error is a
// *net.DNSError: the SPF and DKIM libraries call other errors (a bare
// context.Canceled, say) permanent, which would punish a sender for our
// own DNS trouble.
func (v *Verifier) resolver() Resolver {
	if v.Resolver == nil {
		return dnsErrors{net.DefaultResolver}
	}
	return dnsErrors{v.Resolver}
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) intn(n int) int {
	if v.Rand == nil {
		return rand.IntN(n)
	}
	return v.Rand(n)
}
