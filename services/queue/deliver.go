package queue

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur/services/mailstore"
)

// outcome is what became of one recipient in an attempt: delivered (Fail
// nil), failed for good, or to be retried.
type outcome struct {
	Rcpt  string
	Fail  *failure
	NoDSN bool // delivered to a server without DSN: we report SUCCESS ourselves
}

// attempt tries every pending recipient of entry id once and records the
// result.
func (q *Queue) attempt(ctx context.Context, id uint64) {
	e, err := q.opts.Store.QueueEntry(ctx, id)
	if err != nil {
		if !errors.Is(err, mailstore.ErrNotFound) { // dropped meanwhile
			q.log.Error("read queue entry", "id", id, "err", err)
		}
		return
	}
	p := parseParams(e.Extra)
	if len(e.To) == 0 { // left by an older version; nothing to deliver
		q.forget(ctx, id, nil)
		return
	}
	if q.opts.Now().Sub(e.Created) > q.opts.MaxAge {
		q.expire(ctx, e, &p)
		return
	}
	sig, err := q.sign(ctx, e)
	if err != nil {
		q.log.Error("DKIM signing failed; sending unsigned", "id", id, "err", err)
	}
	var temps []outcome
	for _, group := range q.groups(e.To) {
		outs := q.deliverGroup(ctx, e, &p, sig, group)
		var done []outcome
		for _, o := range outs {
			if o.Fail != nil && !o.Fail.Permanent {
				temps = append(temps, o)
			} else {
				done = append(done, o)
			}
		}
		q.record(ctx, e, &p, done)
	}
	if len(temps) > 0 {
		q.defer_(ctx, e, &p, temps)
	}
}

// groups splits recipients by destination domain (one group when a
// smarthost takes everything).
func (q *Queue) groups(rcpts []string) [][]string {
	if q.opts.Smarthost != nil {
		return [][]string{rcpts}
	}
	var keys []string
	by := map[string][]string{}
	for _, r := range rcpts {
		d := domainOf(r)
		if _, ok := by[d]; !ok {
			keys = append(keys, d)
		}
		by[d] = append(by[d], r)
	}
	out := make([][]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, by[k])
	}
	return out
}

// sign returns the DKIM header fields for e, if the sender's domain signs.
func (q *Queue) sign(ctx context.Context, e *mailstore.QueueEntry) (string, error) {
	if q.opts.Sign == nil {
		return "", nil
	}
	body, err := q.opts.Store.OpenBody(e.Body)
	if err != nil {
		return "", err
	}
	defer body.Close()
	return q.opts.Sign(ctx, e.From, io.NewSectionReader(body, 0, body.Size()))
}

// deliverGroup delivers to recipients that share a destination.
func (q *Queue) deliverGroup(ctx context.Context, e *mailstore.QueueEntry, p *Params, sig string, rcpts []string) []outcome {
	dest, f := q.route(ctx, domainOf(rcpts[0]), p)
	if f != nil {
		return failAll(rcpts, f)
	}
	if !q.acquireDomain(ctx, dest.key) {
		return failAll(rcpts, tempFail("4.4.0", "shutting down"))
	}
	defer q.releaseDomain(dest.key)
	var last *failure
	for _, host := range dest.hosts {
		c := q.conns.get(dest.key, host)
		if c == nil {
			ips, f := q.addresses(ctx, host)
			if f != nil {
				last = f
				continue
			}
			if c, f = q.open(ctx, host, ips, dest.port, dest.tls, dest.auth); f != nil {
				q.log.Info("delivery host failed", "id", e.ID, "host", host, "err", f.Text)
				last = f
				continue
			}
		}
		outs, tryNext, reusable := q.transact(ctx, c, e, p, sig, rcpts)
		if reusable {
			q.conns.put(dest.key, host, c)
		} else {
			c.Quit()
			c.Close()
		}
		if !tryNext {
			return outs
		}
		last = outs[0].Fail
	}
	if last == nil {
		last = tempFail("4.4.4", "no mail server to try")
	}
	last.Permanent = false // a host refusing us is no verdict on the recipient
	return failAll(rcpts, last)
}

// destination is where a group of recipients goes and how.
type destination struct {
	key   string // per-destination concurrency key
	hosts []string
	port  int
	tls   tlsPolicy
	auth  sasl.Client
}

func (q *Queue) route(ctx context.Context, domain string, p *Params) (*destination, *failure) {
	if sh := q.opts.Smarthost; sh != nil {
		return &destination{
			key: "smarthost", hosts: []string{sh.Host}, port: sh.Port,
			tls:  tlsPolicy{Required: true, Verify: !sh.Insecure, Implicit: sh.Port == 465},
			auth: sasl.NewPlainClient("", sh.Username, sh.Password),
		}, nil
	}
	hosts, f := mxHosts(ctx, q.opts.Resolver, domain)
	if f != nil {
		return nil, f
	}
	d := &destination{key: domain, hosts: hosts, port: q.opts.Port}
	pol := q.sts.policy(ctx, domain)
	if pol != nil && pol.Mode != "none" {
		matching := slices.DeleteFunc(slices.Clone(hosts), func(h string) bool { return !pol.Matches(h) })
		switch {
		case pol.Mode == "enforce" && len(matching) == 0:
			return nil, tempFail("4.7.5", "no MX of %s matches its MTA-STS policy", domain)
		case pol.Mode == "enforce":
			d.hosts, d.tls = matching, tlsPolicy{Required: true, Verify: true}
		}
		if p.RequireTLS && len(matching) > 0 {
			d.hosts, d.tls = matching, tlsPolicy{Required: true, Verify: true}
		}
	}
	if p.RequireTLS && !d.tls.Verify {
		// RFC 8689 section 5: the MX must be authenticated, which needs
		// MTA-STS here (we do not validate DNSSEC).
		return nil, permFail("5.7.30", "REQUIRETLS: %s has no MTA-STS policy naming its MX", domain)
	}
	return d, nil
}

// addresses resolves a mail server's name.
func (q *Queue) addresses(ctx context.Context, host string) ([]net.IP, *failure) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}, nil
	}
	addrs, err := q.opts.Resolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return nil, tempFail("4.4.4", "looking up %s: %v", host, err)
	}
	ips := make([]net.IP, len(addrs))
	for i, a := range addrs {
		ips[i] = a.IP
	}
	return ips, nil
}

// transact runs one mail transaction for rcpts on c. tryNext says the host
// failed before the message was handed over: the next host should be tried.
// reusable says c is in a clean state for another transaction.
func (q *Queue) transact(ctx context.Context, c *conn, e *mailstore.QueueEntry, p *Params, sig string, rcpts []string) (outs []outcome, tryNext, reusable bool) {
	needUTF8 := !isASCII(e.From) || slices.ContainsFunc(rcpts, func(r string) bool { return !isASCII(r) })
	utf8OK, _ := c.Extension("SMTPUTF8")
	if needUTF8 && !utf8OK {
		return failAll(rcpts, permFail("5.6.7", "%s does not support SMTPUTF8, which the addresses need", c.Host)), false, true
	}
	if ok, _ := c.Extension("REQUIRETLS"); p.RequireTLS && !ok {
		return failAll(rcpts, permFail("5.7.30", "%s does not support REQUIRETLS", c.Host)), false, true
	}
	opts := &smtp.MailOptions{
		Size: e.Size + int64(len(sig)), RequireTLS: p.RequireTLS, UTF8: utf8OK && (needUTF8 || p.UTF8),
		Return: smtp.DSNReturn(p.Ret), EnvelopeID: p.EnvID,
	}
	if err := c.Mail(e.From, opts); err != nil {
		f := smtpFailure(c.Host, err, "4.4.2")
		return failAll(rcpts, f), !f.Permanent, false
	}
	var accepted []string
	for _, r := range rcpts {
		if err := c.Rcpt(r, rcptOptions(p, r)); err != nil {
			outs = append(outs, outcome{Rcpt: r, Fail: smtpFailure(c.Host, err, "4.4.2")})
			continue
		}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		return outs, false, c.Reset() == nil
	}
	f := q.data(c, e, sig)
	dsnOK, _ := c.Extension("DSN")
	for _, r := range accepted {
		o := outcome{Rcpt: r, NoDSN: !dsnOK}
		if f != nil {
			copied := *f
			o.Fail = &copied
		}
		outs = append(outs, o)
	}
	return outs, false, f == nil || f.SMTP
}

// data sends the message; nil means the server took it.
func (q *Queue) data(c *conn, e *mailstore.QueueEntry, sig string) *failure {
	body, err := q.opts.Store.OpenBody(e.Body)
	if err != nil {
		return tempFail("4.3.0", "reading the message: %v", err)
	}
	defer body.Close()
	w, err := c.Data()
	if err != nil {
		return smtpFailure(c.Host, err, "4.4.2")
	}
	msg := io.MultiReader(strings.NewReader(sig), io.NewSectionReader(body, 0, body.Size()))
	if _, err := io.Copy(w, msg); err != nil {
		w.Close()
		return smtpFailure(c.Host, err, "4.4.2")
	}
	if err := w.Close(); err != nil {
		return smtpFailure(c.Host, err, "4.4.2")
	}
	return nil
}

func rcptOptions(p *Params, rcpt string) *smtp.RcptOptions {
	rp, ok := p.Rcpts[strings.ToLower(rcpt)]
	if !ok {
		return nil
	}
	o := &smtp.RcptOptions{}
	for _, n := range rp.Notify {
		o.Notify = append(o.Notify, smtp.DSNNotify(n))
	}
	if typ, addr, ok := strings.Cut(rp.ORcpt, ";"); ok {
		switch strings.ToUpper(typ) {
		case "RFC822":
			o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeRFC822, addr
		case "UTF-8":
			o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeUTF8, addr
		}
	}
	return o
}

func failAll(rcpts []string, f *failure) []outcome {
	outs := make([]outcome, len(rcpts))
	for i, r := range rcpts {
		copied := *f
		outs[i] = outcome{Rcpt: r, Fail: &copied}
	}
	return outs
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
