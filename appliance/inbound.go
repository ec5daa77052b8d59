package appliance

import (
	"bytes"
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
// (services/mailauth). The message is read whole first (into memory, or a
// spool file when large), because the verdict (a DMARC reject) must be
// known before anything is stored.
type inboundCheck struct {
	verifier *mailauth.Verifier
	spoolDir string
	log      *slog.Logger
}

// checkedBody is the message to store: our Authentication-Results field,
// then the message without forged ones. Close removes the spool file, if
// the message needed one.
type checkedBody struct {
	io.Reader
	file    *os.File // nil when the message fit in memory
	mailbox string   // "Junk" for a DMARC quarantine, "" for the INBOX
}

func (b *checkedBody) Close() error {
	if b.file == nil {
		return nil
	}
	b.file.Close()
	return os.Remove(b.file.Name())
}

// inMemory is the largest message kept in memory while it is checked;
// bigger ones go to a spool file.
const inMemory = 256 << 10

// spool reads the whole message: into memory if small, else into a file.
func (ic *inboundCheck) spool(cb *checkedBody, body io.Reader) (io.ReaderAt, error) {
	head, err := io.ReadAll(io.LimitReader(body, inMemory+1))
	if err != nil {
		return nil, err
	}
	if len(head) <= inMemory {
		return bytes.NewReader(head), nil
	}
	if err := os.MkdirAll(ic.spoolDir, 0o700); err != nil {
		return nil, err
	}
	if cb.file, err = os.CreateTemp(ic.spoolDir, "in-*"); err != nil {
		return nil, err
	}
	if _, err := io.Copy(cb.file, io.MultiReader(bytes.NewReader(head), body)); err != nil {
		return nil, err
	}
	return cb.file, nil
}

func (ic *inboundCheck) run(ctx context.Context, env *smtpd.Envelope, body io.Reader) (*checkedBody, error) {
	cb := &checkedBody{}
	msg, err := ic.spool(cb, body)
	if err != nil {
		cb.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	// DNS that does not answer must not hold the client for long: what
	// is not known by then counts as a temporary error (temperror).
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	verdict, err := ic.verifier.Check(ctx, mailauth.Input{
		IP: remoteIP(env.Remote), Helo: env.Helo, MailFrom: env.From,
	}, io.NewSectionReader(msg, 0, 1<<62))
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
		mailauth.StripAuthResults(io.NewSectionReader(msg, 0, 1<<62), ic.verifier.Hostname))
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
