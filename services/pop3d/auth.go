package pop3d

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
)

const maxSASLRounds = 4 // PLAIN needs one; a bound for a misbehaving mechanism

var (
	errAuthCancelled = errors.New("authentication cancelled")
	errBadSASL       = errors.New("malformed SASL response")
	errAuthzid       = errors.New("authorization identity differs from username")
)

// authAllowed reports whether a client may send a password now.
func (c *session) authAllowed() bool {
	return c.tls || c.srv.opts.InsecureAuth
}

func (c *session) cmdUSER(cmd Command) error {
	if len(cmd.Args) != 1 {
		return c.syntax("USER name")
	}
	if !c.authAllowed() {
		return c.fail(codeAuth, textNeedTLS)
	}
	c.user = cmd.Args[0]
	return c.ok("Send PASS")
}

func (c *session) cmdPASS(cmd Command) error {
	if !c.authAllowed() {
		return c.fail(codeAuth, textNeedTLS)
	}
	if c.user == "" {
		return c.fail("", "Send USER first")
	}
	if len(cmd.Args) != 1 {
		return c.syntax("PASS password")
	}
	user := c.user
	c.user = ""
	return c.login(user, cmd.Args[0])
}

// cmdAUTH runs RFC 5034 AUTH with SASL PLAIN (RFC 4616). Without arguments
// it lists the mechanisms, as RFC 1734 clients expect.
func (c *session) cmdAUTH(cmd Command) error {
	if len(cmd.Args) == 0 {
		return c.listMechanisms()
	}
	if len(cmd.Args) > 2 {
		return c.syntax("AUTH mechanism [initial-response]")
	}
	if !strings.EqualFold(cmd.Args[0], sasl.Plain) {
		return c.fail("", "Unsupported authentication mechanism")
	}
	if !c.authAllowed() {
		return c.fail(codeAuth, textNeedTLS)
	}
	c.user = ""
	var user, pass string
	mech := sasl.NewPlainServer(func(identity, username, password string) error {
		user, pass = username, password
		if identity != "" && identity != username {
			return errAuthzid // no proxy authorization
		}
		return nil
	})
	var resp []byte // nil: no initial response
	if len(cmd.Args) == 2 {
		ir, err := decodeSASL(cmd.Args[1], true)
		if err != nil {
			return c.saslFailed(user, err)
		}
		resp = ir
	}
	for round := 0; ; round++ {
		challenge, done, err := mech.Next(resp)
		if err != nil {
			return c.saslFailed(user, fmt.Errorf("%w: %w", errBadSASL, err))
		}
		if done {
			return c.login(user, pass)
		}
		if round == maxSASLRounds {
			return c.saslFailed(user, fmt.Errorf("%w: too many rounds", errBadSASL))
		}
		if resp, err = c.saslExchange(challenge); err != nil {
			return c.saslFailed(user, err)
		}
	}
}

func (c *session) listMechanisms() error {
	if err := c.ok("Mechanisms follow"); err != nil {
		return err
	}
	if c.authAllowed() {
		c.writeLine(sasl.Plain)
	}
	return c.endMulti()
}

// saslExchange sends a challenge and returns the client's response.
func (c *session) saslExchange(challenge []byte) ([]byte, error) {
	if _, err := c.w.WriteString("+ " + base64.StdEncoding.EncodeToString(challenge) + "\r\n"); err != nil {
		return nil, err
	}
	line, err := c.readLine()
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if string(line) == "*" {
		return nil, errAuthCancelled
	}
	return decodeSASL(string(line), false)
}

// decodeSASL decodes a base64 client response; "=" is the empty initial
// response (RFC 5034 section 4). The result is never nil.
func decodeSASL(s string, initial bool) ([]byte, error) {
	if initial && s == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadSASL, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// saslFailed replies to an AUTH command that did not get as far as checking
// the credentials, or returns the error that ends the session.
func (c *session) saslFailed(user string, err error) error {
	switch {
	case errors.Is(err, errAuthCancelled):
		return c.fail("", "Authentication cancelled")
	case errors.Is(err, ErrLineTooLong):
		return c.fail("", "Line too long")
	case errors.Is(err, errBadSASL):
		c.log.Info("sasl", slog.Any("err", err))
		return c.authFailed(user)
	default: // reading failed
		return err
	}
}

// login checks credentials with the backend and enters the TRANSACTION
// state.
func (c *session) login(user, pass string) error {
	if !validUsername(user) {
		return c.authFailed(user)
	}
	md, err := c.srv.be.Login(c.ctx, user, pass, c.raw.RemoteAddr())
	switch {
	case errors.Is(err, ErrAuthFailed):
		return c.authFailed(user)
	case errors.Is(err, ErrInUse):
		c.log.Info("maildrop in use", slog.String("user", user))
		return c.fail(codeInUse, "Maildrop is locked by another POP3 session")
	case err != nil:
		c.log.Error("login", slog.String("user", user), slog.Any("err", err))
		return c.fail(codeSysTemp, textTemp)
	case md == nil:
		c.log.Error("login", slog.String("user", user), slog.String("err", "backend returned no maildrop"))
		return c.fail(codeSysTemp, textTemp)
	}
	c.drop = md // closed by close, even if Messages panics
	msgs := md.Messages()
	if err := checkMessages(msgs); err != nil {
		c.log.Error("maildrop", slog.String("user", user), slog.Any("err", err))
		c.closeMaildrop()
		return c.fail(codeSysTemp, textTemp)
	}
	c.msgs = msgs
	c.deleted = make([]bool, len(msgs))
	c.state = stateTransaction
	c.log = c.log.With(slog.String("user", user))
	c.log.Info("logged in", slog.Int("messages", len(msgs)))
	n, size := c.stat()
	return c.ok(fmt.Sprintf("Logged in, %d messages (%d octets)", n, size))
}

// checkMessages checks a backend's snapshot: what goes on the wire must be
// valid.
func checkMessages(msgs []Message) error {
	for i, m := range msgs {
		if !validUID(m.UID) {
			return fmt.Errorf("message %d: invalid UID %q", i+1, m.UID)
		}
		if m.Size < 0 {
			return fmt.Errorf("message %d: negative size", i+1)
		}
	}
	return nil
}

// validUsername reports whether a username is worth asking the backend
// about (RFC 4616 limits it to 255 octets of UTF-8).
func validUsername(u string) bool {
	if u == "" || len(u) > 255 || !utf8.ValidString(u) {
		return false
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// authFailed answers a failed login: it tells Options.AuthFailed, waits
// Options.AuthFailDelay, and closes the connection after maxAuthFailures.
func (c *session) authFailed(user string) error {
	c.failures++
	c.log.Info("authentication failed", slog.String("user", user), slog.Int("failures", c.failures))
	if f := c.srv.opts.AuthFailed; f != nil {
		f(c.raw.RemoteAddr(), user)
	}
	if d := c.srv.opts.AuthFailDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return c.ctx.Err()
		}
	}
	if err := c.fail(codeAuth, "Authentication failed"); err != nil {
		return err
	}
	if c.failures >= maxAuthFailures {
		c.log.Info("too many authentication failures")
		return errCloseConn
	}
	return nil
}

func (c *session) cmdSTLS(cmd Command) error {
	if len(cmd.Args) != 0 {
		return c.syntax("STLS")
	}
	if c.tls {
		return c.fail("", "Already using TLS")
	}
	if c.srv.opts.TLSConfig == nil {
		return c.fail("", "TLS not available")
	}
	if err := c.ok("Begin TLS negotiation"); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		c.log.Warn("discarding plaintext sent after STLS")
	}
	if err := c.startTLS(); err != nil {
		c.log.Info("STLS handshake", slog.Any("err", err))
		return errCloseConn
	}
	c.user = "" // RFC 2595 section 4: forget what came before TLS
	return nil
}
