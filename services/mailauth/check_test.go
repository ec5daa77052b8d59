package mailauth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

func (e *env) check(t *testing.T, in Input, msg string) *Verdict {
	t.Helper()
	vd, err := e.v.Check(context.Background(), in, strings.NewReader(msg))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return vd
}

func fromOrg(ip string) Input {
	return Input{IP: net.ParseIP(ip), Helo: "out.example.org", MailFrom: "bounce@example.org"}
}

func TestSignCheckRoundTrip(t *testing.T) {
	e := newEnv(t)
	ks := keys(t)
	msg := signed(t, message("alice@example.org", lunchBody), ks)
	vd := e.check(t, fromOrg(senderIP), msg)

	if vd.SPF != "pass" || vd.SPFDomain != "example.org" {
		t.Errorf("SPF = %q for %q, want pass for example.org", vd.SPF, vd.SPFDomain)
	}
	if len(vd.DKIM) != 2 {
		t.Fatalf("got %d DKIM results, want 2: %+v", len(vd.DKIM), vd.DKIM)
	}
	for i, k := range ks {
		want := DKIMResult{Domain: "example.org", Selector: k.Selector, Result: "pass"}
		if vd.DKIM[i] != want {
			t.Errorf("DKIM[%d] = %+v, want %+v", i, vd.DKIM[i], want)
		}
	}
	if vd.DMARC != "pass" || vd.Policy != "reject" || vd.FromDomain != "example.org" || vd.Action != Accept {
		t.Errorf("DMARC = %q policy %q from %q action %v, want pass reject example.org accept",
			vd.DMARC, vd.Policy, vd.FromDomain, vd.Action)
	}
	want := []string{
		"spf=pass smtp.mailfrom=example.org",
		"dkim=pass header.d=example.org header.s=" + ks[0].Selector,
		"dkim=pass header.d=example.org header.s=" + ks[1].Selector,
		"dmarc=pass header.from=example.org (p=reject dis=none)",
		"arc=none",
	}
	unfolded := strings.NewReplacer("\r\n\t", " ").Replace(vd.Header)
	for _, w := range want {
		if !strings.Contains(unfolded, w) {
			t.Errorf("header %q lacks %q", vd.Header, w)
		}
	}
	checkAuthResultsField(t, vd.Header)
}

// checkAuthResultsField checks that f is one well-formed
// Authentication-Results field with our authserv-id, as another program
// (go-msgauth's parser) reads it.
func checkAuthResultsField(t *testing.T, f string) {
	t.Helper()
	if !strings.HasPrefix(f, "Authentication-Results: ") || !strings.HasSuffix(f, "\r\n") {
		t.Fatalf("field %q: want Authentication-Results: ... CRLF", f)
	}
	for _, line := range strings.Split(strings.TrimSuffix(f, "\r\n"), "\r\n") {
		if len(line) >= maxColumns {
			t.Errorf("line %q is %d columns, want < %d", line, len(line), maxColumns)
		}
	}
	value := strings.TrimPrefix(strings.TrimSuffix(f, "\r\n"), "Authentication-Results: ")
	id, results, err := authres.Parse(strings.ReplaceAll(value, "\r\n", ""))
	if err != nil {
		t.Fatalf("authres.Parse(%q): %v", value, err)
	}
	if id != ourHost || len(results) < 3 {
		t.Errorf("parsed id %q, %d results; want %q and at least 3", id, len(results), ourHost)
	}
}

func TestForgedFrom(t *testing.T) {
	tests := []struct {
		record string
		action Action
		policy string
	}{
		{"v=DMARC1; p=reject", Reject, "reject"},
		{"v=DMARC1; p=quarantine", Quarantine, "quarantine"},
		{"v=DMARC1; p=none", Accept, "none"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			e.dns.setTXT("_dmarc.example.org", tt.record)
			// From example.org, sent from elsewhere, unsigned.
			vd := e.check(t, fromOrg(strangeIP), message("ceo@example.org", "Pay this invoice.\r\n"))
			if vd.SPF != "fail" {
				t.Errorf("SPF = %q, want fail", vd.SPF)
			}
			if len(vd.DKIM) != 0 {
				t.Errorf("DKIM = %+v, want none", vd.DKIM)
			}
			if vd.DMARC != "fail" || vd.Policy != tt.policy || vd.Action != tt.action {
				t.Errorf("DMARC %q policy %q action %v, want fail %q %v", vd.DMARC, vd.Policy, vd.Action, tt.policy, tt.action)
			}
			if !strings.Contains(vd.Header, "dmarc=fail") || !strings.Contains(vd.Header, "dkim=none") {
				t.Errorf("header %q: want dmarc=fail and dkim=none", vd.Header)
			}
			checkAuthResultsField(t, vd.Header)
		})
	}
}

func TestForgedSignatures(t *testing.T) {
	e := newEnv(t)
	msg := signed(t, message("alice@example.org", lunchBody), keys(t))
	tests := []struct {
		name, msg string
	}{
		{"altered body", strings.Replace(msg, "Thursday", "Friday", 1)},
		{"altered subject", strings.Replace(msg, "Lunch on", "Dinner on", 1)},
		{"second From added", "From: mallory@example.org\r\n" + msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vd := e.check(t, fromOrg(strangeIP), tt.msg)
			if len(vd.DKIM) != 2 {
				t.Fatalf("DKIM = %+v, want 2 results", vd.DKIM)
			}
			for _, r := range vd.DKIM {
				if r.Result != "fail" {
					t.Errorf("DKIM %s: %q, want fail", r.Selector, r.Result)
				}
			}
			if vd.DMARC != "fail" || vd.Action != Reject {
				t.Errorf("DMARC %q action %v, want fail reject", vd.DMARC, vd.Action)
			}
		})
	}
}

func TestAlignment(t *testing.T) {
	tests := []struct {
		name   string
		dmarc  string // the record at _dmarc.example.org
		from   string
		in     Input
		sign   []string // domains of the DKIM keys used, if any
		result string
		action Action
	}{
		{"spf relaxed subdomain", "v=DMARC1; p=reject", "alice@example.org",
			Input{IP: net.ParseIP(senderIP), Helo: "out.example.org", MailFrom: "bounce@mail.example.org"}, nil, "pass", Accept},
		{"spf strict subdomain", "v=DMARC1; p=reject; aspf=s", "alice@example.org",
			Input{IP: net.ParseIP(senderIP), Helo: "out.example.org", MailFrom: "bounce@mail.example.org"}, nil, "fail", Reject},
		{"spf strict same domain", "v=DMARC1; p=reject; aspf=s", "alice@example.org",
			fromOrg(senderIP), nil, "pass", Accept},
		{"dkim relaxed subdomain", "v=DMARC1; p=reject", "alice@news.example.org",
			fromOrg(strangeIP), []string{"mail.example.org"}, "pass", Accept},
		{"dkim strict subdomain", "v=DMARC1; p=reject; adkim=s", "alice@news.example.org",
			fromOrg(strangeIP), []string{"mail.example.org"}, "fail", Reject},
		{"dkim strict same domain", "v=DMARC1; p=reject; adkim=s", "alice@news.example.org",
			fromOrg(strangeIP), []string{"news.example.org"}, "pass", Accept},
		{"dkim other organization", "v=DMARC1; p=reject", "alice@example.org",
			fromOrg(strangeIP), []string{"example.com"}, "fail", Reject},
		{"subdomain policy", "v=DMARC1; p=reject; sp=quarantine", "alice@news.example.org",
			fromOrg(strangeIP), nil, "fail", Quarantine},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.dns.setTXT("_dmarc.example.org", tt.dmarc)
			msg := message(tt.from, lunchBody)
			for _, d := range tt.sign {
				ks := keysFor(t, d)
				e.publish(ks)
				msg = signed(t, msg, ks)
			}
			vd := e.check(t, tt.in, msg)
			for _, r := range vd.DKIM {
				if r.Result != "pass" {
					t.Errorf("DKIM %+v, want pass", r)
				}
			}
			if vd.DMARC != tt.result || vd.Action != tt.action {
				t.Errorf("DMARC %q action %v, want %q %v (SPF %q %q)", vd.DMARC, vd.Action, tt.result, tt.action, vd.SPF, vd.SPFDomain)
			}
		})
	}
}

func TestPct(t *testing.T) {
	tests := []struct {
		record string
		roll   int // what Rand returns
		want   Action
	}{
		{"v=DMARC1; p=reject; pct=0", 0, Quarantine},
		{"v=DMARC1; p=quarantine; pct=0", 0, Accept},
		{"v=DMARC1; p=reject; pct=50", 10, Reject},
		{"v=DMARC1; p=reject; pct=50", 50, Quarantine},
		{"v=DMARC1; p=quarantine; pct=50", 70, Accept},
		{"v=DMARC1; p=reject; pct=100", 99, Reject},
	}
	e := newEnv(t)
	for _, tt := range tests {
		e.dns.setTXT("_dmarc.example.org", tt.record)
		e.v.Rand = func(n int) int {
			if n != 100 {
				t.Errorf("Rand(%d), want Rand(100)", n)
			}
			return tt.roll
		}
		vd := e.check(t, fromOrg(strangeIP), message("ceo@example.org", "x\r\n"))
		if vd.DMARC != "fail" || vd.Action != tt.want {
			t.Errorf("%q, roll %d: DMARC %q action %v, want fail %v", tt.record, tt.roll, vd.DMARC, vd.Action, tt.want)
		}
	}
}

func TestDNSErrors(t *testing.T) {
	e := newEnv(t)
	ks := keys(t)
	name, _ := ks[0].Record()
	e.dns.setServfail(name, true)
	e.dns.setServfail("example.org", true)
	msg := signed(t, message("alice@example.org", lunchBody), ks[:1])
	vd := e.check(t, fromOrg(senderIP), msg)
	if vd.SPF != "temperror" {
		t.Errorf("SPF = %q, want temperror", vd.SPF)
	}
	if len(vd.DKIM) != 1 || vd.DKIM[0].Result != "temperror" {
		t.Errorf("DKIM = %+v, want one temperror", vd.DKIM)
	}
	if vd.DMARC != "temperror" || vd.Action != Accept {
		t.Errorf("DMARC %q action %v, want temperror accept (aligned checks could not run)", vd.DMARC, vd.Action)
	}

	e.dns.setServfail("_dmarc.example.org", true)
	vd = e.check(t, fromOrg(strangeIP), message("ceo@example.org", "x\r\n"))
	if vd.DMARC != "temperror" || vd.Policy != "" || vd.Action != Accept {
		t.Errorf("DMARC lookup SERVFAIL: %q policy %q action %v, want temperror, no policy, accept", vd.DMARC, vd.Policy, vd.Action)
	}
}

func TestMissingKey(t *testing.T) {
	e := newEnv(t)
	ks := keysFor(t, "example.org")
	ks[0].Selector = "unpublished"
	vd := e.check(t, fromOrg(senderIP), signed(t, message("alice@example.org", lunchBody), ks[:1]))
	if len(vd.DKIM) != 1 || vd.DKIM[0].Result != "permerror" || vd.DKIM[0].Selector != "unpublished" {
		t.Errorf("DKIM = %+v, want permerror for selector unpublished", vd.DKIM)
	}
	if vd.DMARC != "pass" {
		t.Errorf("DMARC %q, want pass through SPF", vd.DMARC)
	}
}

func TestNullSender(t *testing.T) {
	e := newEnv(t)
	in := Input{IP: net.ParseIP(senderIP), Helo: "mail.example.org"}
	vd := e.check(t, in, message("mailer-daemon@example.org", "Delivery failed.\r\n"))
	if vd.SPF != "pass" || vd.SPFDomain != "mail.example.org" {
		t.Errorf("SPF %q for %q, want pass for the HELO name mail.example.org", vd.SPF, vd.SPFDomain)
	}
	if !strings.Contains(vd.Header, "spf=pass smtp.helo=mail.example.org") {
		t.Errorf("header %q lacks spf=pass smtp.helo=mail.example.org", vd.Header)
	}
	if vd.DMARC != "pass" {
		t.Errorf("DMARC %q, want pass (HELO aligns relaxed)", vd.DMARC)
	}
}

func TestFromAddresses(t *testing.T) {
	e := newEnv(t)
	e.dns.setTXT("_dmarc.example.com", "v=DMARC1; p=quarantine")
	tests := []struct {
		name, from string
		dmarc      string
		domain     string
		action     Action
	}{
		// SPF passes for example.org only: example.com fails.
		{"two authors, strictest", "From: a@example.org, b@example.com", "fail", "example.com", Quarantine},
		{"two fields", "From: a@example.org\r\nFrom: b@example.com", "fail", "example.com", Quarantine},
		{"one good author", "From: a@example.org, b@Example.ORG", "pass", "example.org", Accept},
		{"malformed", "From: Bank <ceo@example.com>>", "fail", "example.com", Quarantine},
		{"display name with @", `From: "ceo@example.com" <a@example.org>`, "pass", "example.org", Accept},
		{"no From", "Sender: a@example.org", "permerror", "", Accept},
		{"no domain", "From: undisclosed-recipients:;", "permerror", "", Accept},
		{"no record", "From: a@example.net", "none", "example.net", Accept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.from + "\r\nSubject: hello\r\n\r\nbody\r\n"
			vd := e.check(t, fromOrg(senderIP), msg)
			if vd.DMARC != tt.dmarc || vd.FromDomain != tt.domain || vd.Action != tt.action {
				t.Errorf("DMARC %q from %q action %v, want %q %q %v", vd.DMARC, vd.FromDomain, vd.Action, tt.dmarc, tt.domain, tt.action)
			}
		})
	}
}

func TestDMARCRecords(t *testing.T) {
	tests := []struct {
		name    string
		records []string
		dmarc   string
		policy  string
	}{
		{"two records", []string{"v=DMARC1; p=reject", "v=DMARC1; p=none"}, "none", ""},
		{"other TXT ignored", []string{"google-site-verification=abc", "v=DMARC1; p=reject"}, "fail", "reject"},
		{"bad policy", []string{"v=DMARC1; p=maybe"}, "permerror", ""},
		{"not DMARC", []string{"v=spf1 -all"}, "none", ""},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.dns.setTXT("_dmarc.example.org", tt.records...)
			vd := e.check(t, fromOrg(strangeIP), message("ceo@example.org", "x\r\n"))
			if vd.DMARC != tt.dmarc || vd.Policy != tt.policy {
				t.Errorf("DMARC %q policy %q, want %q %q", vd.DMARC, vd.Policy, tt.dmarc, tt.policy)
			}
		})
	}
}

func TestCheckUnreadable(t *testing.T) {
	e := newEnv(t)
	for _, msg := range []string{"", "\r\n\r\nbody only\r\n", "not a header line\r\n\r\n", " continued\r\n"} {
		if _, err := e.v.Check(context.Background(), fromOrg(senderIP), strings.NewReader(msg)); err == nil {
			t.Errorf("Check(%q): no error, want one", msg)
		}
	}
	r := &failingReader{data: message("alice@example.org", "first part\r\n")}
	if _, err := e.v.Check(context.Background(), fromOrg(senderIP), r); err == nil {
		t.Error("Check with a read error in the body: no error, want one")
	}
}

// failingReader returns data, then an error other than EOF.
type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, net.ErrClosed
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestHeaderOnlyMessage(t *testing.T) {
	e := newEnv(t)
	msg := "From: alice@example.org\r\nSubject: no body"
	vd := e.check(t, fromOrg(senderIP), signed(t, msg, keys(t)))
	for _, r := range vd.DKIM {
		if r.Result != "pass" {
			t.Errorf("DKIM %+v, want pass", r)
		}
	}
}

func TestHeaderQuoting(t *testing.T) {
	e := newEnv(t)
	// A signature whose selector tries to add a property and a field.
	msg := "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x\"\\;\r\n" +
		" h=from; bh=AAAA; b=AAAA\r\n" + message("alice@example.org", "x\r\n")
	vd := e.check(t, fromOrg(senderIP), msg)
	if len(vd.DKIM) != 1 || vd.DKIM[0].Result == "pass" {
		t.Fatalf("DKIM = %+v, want one failed result", vd.DKIM)
	}
	checkAuthResultsField(t, vd.Header)
	if strings.Count(vd.Header, "\r\n") != strings.Count(vd.Header, "\r\n\t")+1 {
		t.Errorf("header %q has a line break that is not a fold", vd.Header)
	}
}

func TestDMARCDiscovery(t *testing.T) {
	e := newEnv(t)
	// Several records at the From domain: no policy, and no look at the
	// organizational domain's p=reject either (RFC 7489 section 6.6.3).
	e.dns.setTXT("_dmarc.news.example.org", "v=DMARC1; p=none", "v=DMARC1; p=quarantine")
	vd := e.check(t, fromOrg(strangeIP), message("ceo@news.example.org", "x\r\n"))
	if vd.DMARC != "none" || vd.Policy != "" || vd.Action != Accept {
		t.Errorf("two records: DMARC %q policy %q action %v, want none, no policy, accept", vd.DMARC, vd.Policy, vd.Action)
	}
	// A TXT record there that is not DMARC: the organizational domain's
	// record applies.
	e.dns.setTXT("_dmarc.news.example.org", "hello")
	vd = e.check(t, fromOrg(strangeIP), message("ceo@news.example.org", "x\r\n"))
	if vd.DMARC != "fail" || vd.Policy != "reject" || vd.Action != Reject {
		t.Errorf("no DMARC record: DMARC %q policy %q action %v, want fail reject reject", vd.DMARC, vd.Policy, vd.Action)
	}
	// The subdomain's own record wins over the organizational domain's.
	e.dns.setTXT("_dmarc.news.example.org", "v=DMARC1; p=none")
	vd = e.check(t, fromOrg(strangeIP), message("ceo@news.example.org", "x\r\n"))
	if vd.DMARC != "fail" || vd.Policy != "none" || vd.Action != Accept {
		t.Errorf("own record: DMARC %q policy %q action %v, want fail none accept", vd.DMARC, vd.Policy, vd.Action)
	}
}

func TestTooManySignatures(t *testing.T) {
	e := newEnv(t)
	msg := message("alice@example.org", lunchBody)
	for range maxSignatures + 2 {
		msg = signed(t, msg, keys(t)[:1])
	}
	vd := e.check(t, fromOrg(senderIP), msg)
	if len(vd.DKIM) != maxSignatures+2 {
		t.Fatalf("got %d DKIM results, want %d", len(vd.DKIM), maxSignatures+2)
	}
	for i, r := range vd.DKIM {
		want := "pass"
		if i >= maxSignatures {
			want = "neutral"
		}
		if r.Result != want {
			t.Errorf("signature %d: %q, want %q", i, r.Result, want)
		}
	}
}

// TestFoldedHeader: a field folded over very many lines is verified only
// if a signature names it, and then refused rather than spending minutes
// in go-msgauth's line joining.
func TestFoldedHeader(t *testing.T) {
	e := newEnv(t)
	folded := "X-Junk:" + strings.Repeat(" a\r\n", 200000)
	msg := signed(t, message("alice@example.org", lunchBody), keys(t))
	vd := e.check(t, fromOrg(senderIP), folded+msg)
	for _, r := range vd.DKIM {
		if r.Result != "pass" {
			t.Errorf("unsigned folded field: DKIM %+v, want pass", r)
		}
	}
	sig := "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=" + keys(t)[0].Selector +
		"; h=from:x-junk; bh=AA==; b=AA==\r\n"
	vd = e.check(t, fromOrg(senderIP), sig+folded+msg)
	if len(vd.DKIM) != 3 || vd.DKIM[0].Result != "permerror" {
		t.Errorf("signed folded field: DKIM %+v, want permerror first", vd.DKIM)
	}
}

// TestManyFields: a header of many fields, each named in h=, is refused
// rather than looked up entry by entry.
func TestManyFields(t *testing.T) {
	e := newEnv(t)
	many := strings.Repeat("To: a\r\n", 50000)
	sig := "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=" + keys(t)[0].Selector +
		"; h=from" + strings.Repeat(":to", 50000) + "; bh=AA==; b=AA==\r\n"
	vd := e.check(t, fromOrg(senderIP), sig+many+message("alice@example.org", "x\r\n"))
	if len(vd.DKIM) != 1 || vd.DKIM[0].Result != "permerror" {
		t.Errorf("DKIM %+v, want one permerror", vd.DKIM)
	}
	// Our own signer handles such a header in linear time, and signs it.
	msg := signed(t, many+message("alice@example.org", "x\r\n"), keys(t)[:1])
	if n := strings.Count(strings.SplitN(msg, "\r\nTo: a", 2)[0], "to:"); n < 1000 {
		t.Errorf("h= names To %d times, want every instance", n)
	}
}

// TestCanceled: a Check whose context ends gives temperrors, never a
// verdict that punishes the sender, with the Go resolver and with one that
// returns the bare context error.
func TestCanceled(t *testing.T) {
	e := newEnv(t)
	msg := signed(t, message("alice@example.org", lunchBody), keys(t))
	for _, r := range []Resolver{e.dns.resolver(), bareCtxResolver{e.dns.resolver()}} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		v := *e.v
		v.Resolver = r
		vd, err := v.Check(ctx, fromOrg(senderIP), strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		if vd.SPF != "temperror" || vd.DMARC != "temperror" || vd.Action != Accept {
			t.Errorf("%T: SPF %q DMARC %q action %v, want temperror temperror accept", r, vd.SPF, vd.DMARC, vd.Action)
		}
		for _, res := range vd.DKIM {
			if res.Result != "temperror" {
				t.Errorf("%T: DKIM %+v, want temperror", r, res)
			}
		}
	}
}

// bareCtxResolver fails every TXT lookup with the plain context error
// once the context is done.
type bareCtxResolver struct{ Resolver }

func (r bareCtxResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.Resolver.LookupTXT(ctx, name)
}

func TestManyFromDomains(t *testing.T) {
	e := newEnv(t)
	var addrs []string
	for i := range 5000 {
		addrs = append(addrs, fmt.Sprintf("a@d%d.example.org", i))
	}
	msg := "From: " + strings.Join(addrs, ", ") + "\r\n\r\nx\r\n"
	vd := e.check(t, fromOrg(strangeIP), msg)
	// d0.example.org has no record of its own: example.org's applies.
	if vd.DMARC != "fail" || vd.Action != Reject || !strings.HasSuffix(vd.FromDomain, ".example.org") {
		t.Errorf("DMARC %q action %v from %q, want fail reject for a subdomain of example.org", vd.DMARC, vd.Action, vd.FromDomain)
	}
}
