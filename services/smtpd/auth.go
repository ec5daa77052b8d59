package smtpd

import (
	"errors"
	"log/slog"

	"github.com/emersion/go-sasl"
)

// maxAuthFailures is how many failed AUTH attempts a connection gets before
// it is closed.
const maxAuthFailures = 3

// AuthMechanisms lists the mechanisms for EHLO: PLAIN and LOGIN on the
// submission listeners once TLS is on, nothing otherwise. MX never offers
// AUTH: mail from users goes through submission, so there is no reason to
// take passwords on port 25.
func (ss *session) AuthMechanisms() []string {
	if !ss.kind.submission() || ss.tls == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange. go-smtp has already decoded any initial
// response, but nothing is checked before TLS is on.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	switch {
	case !ss.kind.submission():
		return nil, errAuthNotHere
	case ss.tls == nil:
		return nil, errEncryptionReq
	}
	// No check for a transaction under way (RFC 4954 section 4): MAIL needs
	// AUTH here, and go-smtp refuses a second AUTH.
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(ss.authenticate), nil
	case sasl.Login:
		return &loginServer{authenticate: ss.authenticate}, nil
	}
	return nil, errAuthMechanism
}

// authenticate checks a username and password with the Backend. Logging
// names the user, never the password.
func (ss *session) authenticate(identity, username, password string) error {
	if identity != "" && identity != username {
		// Acting for another user is not supported.
		return ss.authFailure(username)
	}
	account, err := ss.s.be.Authenticate(ss.s.ctx, username, password)
	if errors.Is(err, ErrAuthFailed) {
		return ss.authFailure(username)
	}
	if err != nil {
		ss.log.Error("authenticate", slog.String("username", username), slog.Any("err", err))
		return errAuthTemporary
	}
	ss.mu.Lock()
	ss.account = account
	ss.mu.Unlock()
	ss.log.Info("authenticated", slog.String("username", username),
		slog.String("account", account))
	return nil
}

// authFailure reports a failed attempt and, after maxAuthFailures, has the
// connection closed once the reply is out.
func (ss *session) authFailure(username string) error {
	ss.mu.Lock()
	ss.failures++
	n := ss.failures
	ss.mu.Unlock()
	ss.log.Warn("authentication failed", slog.String("username", username),
		slog.Int("failures", n))
	if f := ss.s.opts.AuthFailed; f != nil {
		f(ss.remote, username)
	}
	if n >= maxAuthFailures {
		ss.log.Warn("closing connection after repeated authentication failures")
		if !closeAfterReply(ss.netConn) {
			ss.conn.Close() // not ours: close without the reply
		}
	}
	return errAuthInvalid
}

// loginServer is the server side of the obsolete but still common LOGIN
// mechanism (draft-murchison-sasl-login): the server asks "Username:" and
// "Password:", unless the username came as the initial response.
type loginServer struct {
	authenticate sasl.PlainAuthenticator
	username     string
	step         int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.step = 2
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.authenticate("", l.username, string(response))
	}
	return nil, false, errAuthSyntax
}
