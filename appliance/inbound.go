package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"facteur/services/mailauth"
	"facteur/services/smtpd"
)

// inboundCheck authenticates mail from the internet: SPF, DKIM, DMARC
// (services/mailauth). The message is spooled to a file first, because the
// verdict (a DMARC reject) must be known before anything is stored.
type inboundCheck struct {
	verifier *mailauth.Verifier
	spoolDir string
	log      *slog.Logger
}

// checkedBody is the message to store: our Authentication-Results field,
// then the message without forged ones. Close removes the spool file.
type checkedBody struct {
	io.Reader
	file    *os.File
	mailbox string // "Junk" for a DMARC quarantine, "" for the INBOX
}

func (b *checkedBody) Close() error {
	b.file.Close()
	return os.Remove(b.file.Name())
}

func (ic *inboundCheck) run(ctx context.Context, env *smtpd.Envelope, body io.Reader) (*checkedBody, error) {
	if err := os.MkdirAll(ic.spoolDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(ic.spoolDir, "in-*")
	if err != nil {
		return nil, err
	}
	cb := &checkedBody{file: f}
	if _, err := io.Copy(f, body); err != nil {
		cb.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	// DNS that does not answer must not hold the client for long: what
	// is not known by then counts as a temporary error (temperror).
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	verdict, err := ic.verifier.Check(ctx, mailauth.Input{
		IP: remoteIP(env.Remote), Helo: env.Helo, MailFrom: env.From,
	}, io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		cb.Close()
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	ic.log.Info("message authenticated", "id", env.ID, "from", env.From,
		"spf", verdict.SPF, "dmarc", verdict.DMARC, "policy", verdict.Policy, "header_from", verdict.FromDomain)
	switch verdict.Action {
	case mailauth.Reject:
		cb.Close()
		return nil, &smtpd.Refusal{Text: "rejected by the DMARC policy of " + verdict.FromDomain}
	case mailauth.Quarantine:
		cb.mailbox = "Junk"
	}
	cb.Reader = io.MultiReader(strings.NewReader(verdict.Header),
		mailauth.StripAuthResults(io.NewSectionReader(f, 0, 1<<62), ic.verifier.Hostname))
	return cb, nil
}

// checkTimeout bounds the DNS lookups of one message's authentication.
const checkTimeout = 20 * time.Second

func remoteIP(a net.Addr) net.IP {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP
	}
	host, _, _ := net.SplitHostPort(a.String())
	return net.ParseIP(host)
}
