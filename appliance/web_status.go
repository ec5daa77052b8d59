package appliance

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"facteur/webui"
)

// webServices are the listeners the dashboard and the checks look at.
var webServices = []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https"}

func (b *webBackend) Status(ctx context.Context) (*webui.Status, error) {
	c := b.c
	st, err := c.status(ctx)
	if err != nil {
		return nil, err
	}
	s := c.Settings()
	out := &webui.Status{
		Version: st.Version, Hostname: st.Hostname, Uptime: time.Since(c.started),
		QueueLength: st.QueueLength, AuthFailed: st.AuthFailed, TimeZone: s.TimeZone,
		Services: b.services(ctx), UpdateReady: c.updateReady(),
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(c.opts.DataDir, &fs) == nil {
		out.DiskTotal = fs.Blocks * uint64(fs.Bsize)
		out.DiskUsed = out.DiskTotal - fs.Bavail*uint64(fs.Bsize)
	}
	if cert := c.certs.cur.Load(); cert != nil && cert.Leaf != nil {
		out.CertNotAfter = cert.Leaf.NotAfter
		out.CertIssuer = strings.Join(cert.Leaf.Issuer.Organization, ", ")
		if cert.Leaf.Issuer.String() == cert.Leaf.Subject.String() {
			out.CertIssuer = "self-signed"
		}
	}
	loc := settingsTZ(s)
	for _, h := range c.web.metrics.last24(time.Now()) {
		out.Hourly = append(out.Hourly, webui.HourCount{Hour: h.start.In(loc), In: h.in, Out: h.out})
	}
	return out, nil
}

// services probes each listener: up means it greets as it should.
func (b *webBackend) services(ctx context.Context) []webui.Service {
	out := make([]webui.Service, len(webServices))
	done := make(chan struct{})
	for i, name := range webServices {
		go func() {
			defer func() { done <- struct{}{} }()
			addr := b.c.Addr(name)
			out[i] = webui.Service{Name: name, Addr: addr}
			if addr == "" {
				return
			}
			out[i].Up = probe(ctx, name, addr)
		}()
	}
	for range webServices {
		<-done
	}
	return out
}

// Checks are the wizard's summary: what the box can check from inside.
func (b *webBackend) Checks(ctx context.Context) []webui.Check {
	var checks []webui.Check
	var down []string
	for _, s := range b.services(ctx) {
		if !s.Up {
			down = append(down, s.Name)
		}
	}
	if len(down) == 0 {
		checks = append(checks, webui.Check{Name: "Services", Result: "ok", Detail: "Every mail service and the web pages answer on the box."})
	} else {
		checks = append(checks, webui.Check{Name: "Services", Result: "bad", Detail: "Not answering: " + strings.Join(down, ", ") + ".",
			Fix: "Restart the box; if it stays, look at the Logs page."})
	}
	s := b.c.Settings()
	if len(s.PublicIPs) == 0 {
		checks = append(checks, webui.Check{Name: "Public address", Result: "warn", Detail: "No public address was given, so DNS publishes none for " + s.Hostname + ".",
			Fix: "Run the setup again with your internet connection's address, or use `facteur setup -ip`."})
	}
	checks = append(checks, b.certCheck())
	domains, _ := b.c.domainNames(ctx)
	for _, d := range domains {
		checks = append(checks, b.dnsCheck(ctx, d))
	}
	return checks
}

func (b *webBackend) certCheck() webui.Check {
	cert := b.c.certs.cur.Load()
	if cert == nil || cert.Leaf == nil {
		return webui.Check{Name: "Certificate", Result: "bad", Detail: "No certificate.", Fix: "Restart the box."}
	}
	left := time.Until(cert.Leaf.NotAfter)
	switch {
	case left < 7*24*time.Hour:
		return webui.Check{Name: "Certificate", Result: "bad", Detail: fmt.Sprintf("The certificate ends on %s.", cert.Leaf.NotAfter.Format("2006-01-02")),
			Fix: "Install a new certificate from the dashboard."}
	case cert.Leaf.Issuer.String() == cert.Leaf.Subject.String():
		return webui.Check{Name: "Certificate", Result: "warn", Detail: "The box uses its own (self-signed) certificate: mail apps ask once to accept it.",
			Fix: "Accept it in each app, or install a certificate from a certificate authority from the dashboard."}
	}
	return webui.Check{Name: "Certificate", Result: "ok", Detail: "Valid until " + cert.Leaf.NotAfter.Format("2006-01-02") + "."}
}

// dnsCheck sums up a domain's live DNS check.
func (b *webBackend) dnsCheck(ctx context.Context, domain string) webui.Check {
	rep, err := b.DNSRecords(ctx, domain)
	if err != nil {
		return webui.Check{Name: "DNS of " + domain, Result: "bad", Detail: err.Error(), Fix: "Look at the Logs page."}
	}
	var bad, unseen int
	for _, r := range rep.Records {
		switch r.Result {
		case "bad":
			bad++
		case "warn":
			unseen++
		}
	}
	fix := "Enter the records shown on the DNS page at your DNS provider."
	if rep.Own {
		fix = "Enter the name server (and glue) shown on the DNS page at your registrar."
	}
	switch {
	case bad > 0:
		return webui.Check{Name: "DNS of " + domain, Result: "bad", Detail: fmt.Sprintf("%d of %d records differ from what the box publishes.", bad, len(rep.Records)), Fix: fix}
	case unseen > 0:
		return webui.Check{Name: "DNS of " + domain, Result: "warn", Detail: fmt.Sprintf("%d of %d records are not visible yet.", unseen, len(rep.Records)), Fix: fix + " Changes can take a few hours to be seen."}
	}
	return webui.Check{Name: "DNS of " + domain, Result: "ok", Detail: "Every record resolves as the box publishes it."}
}
