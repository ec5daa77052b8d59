package smtpd

import (
	"context"
	"errors"
	"io"
	"net"
)

// ErrAuthFailed is returned by [Backend.Authenticate] for a wrong username or
// password. Any other error is taken as a temporary failure of the backend.
var ErrAuthFailed = errors.New("smtpd: authentication failed")

// RecipientKind classifies a recipient address.
type RecipientKind int

const (
	// Unknown is an address in a local domain that has no mailbox or alias.
	// It is the zero value, so a forgotten classification refuses mail.
	Unknown RecipientKind = iota
	// Local is a mailbox or alias on this server.
	Local
	// Remote is an address in a domain this server is not responsible for.
	Remote
	// Full is a local mailbox over its quota: "452 4.2.2", so the sender
	// retries later instead of bouncing at once (RFC 3463).
	Full
)

func (k RecipientKind) String() string {
	switch k {
	case Local:
		return "local"
	case Remote:
		return "remote"
	case Full:
		return "full"
	default:
		return "unknown"
	}
}

// Backend is what the SMTP server needs from the rest of the system. Its
// methods are called from many connections at once.
type Backend interface {
	// Recipient classifies an address: Local (a mailbox or alias here),
	// Unknown (local domain, no such user), Remote (not a local domain).
	Recipient(ctx context.Context, addr string) (RecipientKind, error)

	// Authenticate checks a password and returns the account it belongs to.
	// It returns ErrAuthFailed for bad credentials.
	Authenticate(ctx context.Context, username, password string) (account string, err error)

	// MaySendAs reports whether account may use from as its envelope sender.
	// from is "" for the null reverse-path <>.
	MaySendAs(ctx context.Context, account, from string) (bool, error)

	// Deliver stores the message for every recipient (local delivery and/or
	// the outbound queue for remote ones), durably, before returning nil. It
	// must read body to EOF; if reading body fails, it must store nothing and
	// return that error. body starts with the Received header this server
	// added and uses CRLF line endings throughout.
	Deliver(ctx context.Context, env *Envelope, body io.Reader) error
}

// Envelope describes one message transaction.
type Envelope struct {
	From       string   // reverse-path; "" for the null sender <>
	To         []string // accepted recipients, in RCPT order
	Remote     net.Addr // the client's address
	Helo       string   // the EHLO/HELO argument as the client sent it
	Account    string   // authenticated account; "" on MX
	Submission bool     // received on port 587 or 465
	UTF8       bool     // SMTPUTF8 was given on MAIL
	Body       string   // "7BIT" (also when not declared) or "8BITMIME"
	Size       int64    // SIZE= declared on MAIL; 0 if not declared
	ID         string   // the id in the Received header and the log

	// Delivery status notification parameters (RFC 3461) and REQUIRETLS
	// (RFC 8689), carried through the outbound queue.
	Ret        string       // RET=: "FULL", "HDRS" or ""
	EnvID      string       // ENVID=, decoded
	RequireTLS bool         // REQUIRETLS was given on MAIL (only possible over TLS)
	Rcpts      []RcptParams // parallel to To
}

// RcptParams are a recipient's DSN parameters.
type RcptParams struct {
	Notify []string // NOTIFY=: NEVER, or some of SUCCESS, FAILURE, DELAY; nil if not given
	ORcpt  string   // ORCPT=, as "rfc822;addr" (decoded); "" if not given
}

// Refusal is an error Deliver returns to refuse a message for policy
// (DMARC, a virus): the client gets a permanent 550 with Text instead of a
// temporary failure.
type Refusal struct {
	Text string // shown to the client: keep it generic
}

func (r *Refusal) Error() string { return "refused: " + r.Text }
