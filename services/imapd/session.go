package imapd

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// session is one IMAP connection.
type session struct {
	srv     *Server
	conn    *imapserver.Conn
	remote  net.Addr
	started time.Time

	acct     *mailstore.Account
	sel      *view // nil unless a mailbox is selected
	failures int
}

var (
	_ imapserver.SessionIMAP4rev2       = (*session)(nil)
	_ imapserver.SessionUnauthenticate  = (*session)(nil)
	_ imapserver.SessionAppendLimit     = (*session)(nil)
)

func (s *session) ctx() context.Context { return context.Background() }

func (s *session) store() *mailstore.Store { return s.srv.store }

// Close ends the session.
func (s *session) Close() error {
	s.unselect()
	return nil
}

// Login authenticates; go-imap only calls it over TLS unless InsecureAuth.
func (s *session) Login(username, password string) error {
	acct, err := s.store().Authenticate(s.ctx(), username, password)
	if errors.Is(err, mailstore.ErrAuthFailed) {
		s.failures++
		s.srv.log.Info("login failed", "remote", s.remote.String(), "user", username)
		if s.srv.opts.AuthFailed != nil {
			s.srv.opts.AuthFailed(s.remote, username)
		}
		if s.failures >= 3 {
			return &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Too many failed logins"}
		}
		return imapserver.ErrAuthFailed
	}
	if err != nil {
		return s.internal("login", err)
	}
	s.acct = acct
	s.srv.log.Info("login", "remote", s.remote.String(), "user", acct.Address)
	return nil
}

// Unauthenticate returns to the not-authenticated state (RFC 8437).
func (s *session) Unauthenticate() error {
	s.unselect()
	s.acct = nil
	return nil
}

// AppendLimit advertises APPENDLIMIT.
func (s *session) AppendLimit() uint32 { return s.srv.opts.AppendLimit }

// internal logs err and returns a generic error for the client.
func (s *session) internal(what string, err error) error {
	s.srv.log.Error("imap "+what, "remote", s.remote.String(), "err", err)
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "Internal error, try again later"}
}

// storeErr maps store errors to IMAP responses.
func (s *session) storeErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mailstore.ErrNotFound):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	case errors.Is(err, mailstore.ErrExists):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, mailstore.ErrMailboxInUse):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: firstSentence(err)}
	case errors.Is(err, mailstore.ErrInvalid):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid mailbox name or argument"}
	case errors.Is(err, mailstore.ErrQuota):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}
	}
	return s.internal(what, err)
}

func firstSentence(err error) string {
	if errors.Is(err, mailstore.ErrMailboxInUse) && strings.Contains(err.Error(), "children") {
		return "Mailbox has children, delete them first"
	}
	return "Mailbox cannot be deleted"
}

var errNoSuchMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}

func (s *session) mailbox(name string) (*mailstore.Mailbox, error) {
	m, err := s.store().MailboxByName(s.ctx(), s.acct.ID, name)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errNoSuchMailbox
	}
	if err != nil {
		return nil, s.internal("mailbox", err)
	}
	return m, nil
}
