package smtpd

import (
	"crypto/tls"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

// session implements smtp.Session and smtp.AuthSession for one connection.
// go-smtp makes a new one after STARTTLS, so tls never changes.
type session struct {
	s       *Server
	kind    kind
	conn    *smtp.Conn
	netConn net.Conn // the connection as it was at EHLO, for deadlines
	remote  net.Addr
	tls     *tls.ConnectionState // nil without TLS
	log     *slog.Logger

	// mu guards the fields below. go-smtp reads a BDAT body in a goroutine
	// of its own, which calls Data while the connection's goroutine may
	// call Reset.
	mu       sync.Mutex
	account  string    // authenticated account, "" before AUTH
	failures int       // failed AUTH attempts
	env      *Envelope // the transaction under way, nil before MAIL
}

var _ smtp.AuthSession = (*session)(nil)

func (s *Server) newSession(k kind, c *smtp.Conn) *session {
	ss := &session{
		s:       s,
		kind:    k,
		conn:    c,
		netConn: c.Conn(),
		remote:  c.Conn().RemoteAddr(),
	}
	if st, ok := c.TLSConnectionState(); ok {
		ss.tls = &st
	}
	ss.log = s.log.With(
		slog.String("listener", k.String()),
		slog.String("remote", remoteIP(ss.remote)))
	return ss
}

// Mail starts a transaction. On submission it needs an authenticated
// account that may use from; on MX any syntactically valid sender will do.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	account := ss.authAccount()
	if ss.kind.submission() && account == "" {
		return errAuthRequired
	}
	if from != "" {
		if err := checkAddress(from, opts.UTF8, errBadSender); err != nil {
			return err
		}
	}
	if opts.RequireTLS && ss.tls == nil && ss.kind != kindSubmissions {
		return errRequireTLSNoTLS // not offered without TLS (RFC 8689 section 4.1)
	}
	if ss.kind.submission() {
		ok, err := ss.s.be.MaySendAs(ss.s.ctx, account, from)
		if err != nil {
			ss.log.Error("check sender", slog.String("account", account),
				slog.String("from", from), slog.Any("err", err))
			return errTemporary
		}
		if !ok {
			ss.log.Info("sender refused", slog.String("account", account),
				slog.String("from", from))
			return errSenderNotOwned
		}
	}
	env := &Envelope{
		From:       from,
		Remote:     ss.remote,
		Helo:       ss.conn.Hostname(),
		Account:    account,
		Submission: ss.kind.submission(),
		UTF8:       opts.UTF8,
		Body:       string(smtp.Body7Bit),
		Size:       opts.Size,
		Ret:        string(opts.Return),
		EnvID:      opts.EnvelopeID,
		RequireTLS: opts.RequireTLS,
	}
	if opts.Body != "" {
		env.Body = string(opts.Body)
	}
	ss.mu.Lock()
	ss.env = env
	ss.mu.Unlock()
	return nil
}

// Rcpt adds a recipient: on MX only local ones, on submission local and
// remote ones.
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	ss.mu.Lock()
	env := ss.env
	ss.mu.Unlock()
	if env == nil { // go-smtp only calls Rcpt after a successful Mail
		return errTemporary
	}
	if err := checkAddress(to, env.UTF8, errBadRecipient); err != nil {
		return err
	}
	k, err := ss.s.be.Recipient(ss.s.ctx, to)
	if err != nil {
		ss.log.Error("look up recipient", slog.String("rcpt", to), slog.Any("err", err))
		return errTemporary
	}
	if err := ss.accepts(k); err != nil {
		ss.log.Info("recipient refused", slog.String("from", env.From),
			slog.String("rcpt", to), slog.String("kind", k.String()))
		return err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.env == env && !slices.Contains(env.To, to) {
		env.To = append(env.To, to)
		env.Rcpts = append(env.Rcpts, rcptParams(opts))
	}
	return nil
}

// accepts says whether a recipient of kind k may be added. Anything but
// Local and Remote counts as Unknown.
func (ss *session) accepts(k RecipientKind) error {
	switch {
	case k == Local:
		return nil
	case k == Remote && ss.kind.submission():
		return nil
	case k == Remote:
		return errRelayDenied
	case k == Full:
		return errMailboxFull
	default:
		return errNoSuchUser
	}
}

// Reset ends the transaction; go-smtp calls it on RSET, EHLO and after
// each message.
func (ss *session) Reset() {
	ss.mu.Lock()
	ss.env = nil
	ss.mu.Unlock()
}

func (ss *session) Logout() error { return nil }

func (ss *session) authAccount() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.account
}

// envelope returns a copy of the transaction's envelope, or nil.
func (ss *session) envelope() *Envelope {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.env == nil {
		return nil
	}
	env := *ss.env
	env.To = slices.Clone(env.To)
	env.Rcpts = slices.Clone(env.Rcpts)
	return &env
}

// checkAddress refuses what go-smtp's lenient parser lets through: invalid
// UTF-8, control characters, overlong paths, and non-ASCII without
// SMTPUTF8 (RFC 6531 section 3.4). bad is the reply for a syntax error.
func checkAddress(addr string, smtputf8 bool, bad error) error {
	if len(addr) > 256 || !utf8.ValidString(addr) || !strings.Contains(addr, "@") {
		return bad
	}
	ascii := true
	for _, r := range addr {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return bad
		}
		if r >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !smtputf8 {
		return errNeedSMTPUTF8
	}
	return nil
}

func rcptParams(opts *smtp.RcptOptions) RcptParams {
	var p RcptParams
	if opts == nil {
		return p
	}
	for _, n := range opts.Notify {
		p.Notify = append(p.Notify, string(n))
	}
	if opts.OriginalRecipient != "" {
		p.ORcpt = string(opts.OriginalRecipientType) + ";" + opts.OriginalRecipient
	}
	return p
}
