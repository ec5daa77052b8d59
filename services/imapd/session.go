package imapd

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
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
	sel      *view // nil unless a mailbox is selected (and not deleted since)
	failures int

	// idleMu is held by Idle, which go-imap runs in a goroutine of its
	// own. go-imap waits for it after DONE, but not when the client hangs
	// up or sends something else instead: commands that touch sel then
	// wait for it (waitIdle) so that the two never run at once.
	idleMu sync.Mutex

	closeOnce sync.Once
}

var (
	_ imapserver.SessionIMAP4rev2      = (*session)(nil)
	_ imapserver.SessionUnauthenticate = (*session)(nil)
	_ imapserver.SessionAppendLimit    = (*session)(nil)
)

func (s *session) ctx() context.Context { return context.Background() }

func (s *session) store() *mailstore.Store { return s.srv.store }

// Close ends the session.
func (s *session) Close() error {
	s.closeOnce.Do(func() {
		s.waitIdle()
		s.unselect()
		s.srv.sessionEnded()
	})
	return nil
}

// waitIdle returns once no Idle is running.
func (s *session) waitIdle() {
	s.idleMu.Lock()
	s.idleMu.Unlock()
}

// maxLoginFailures is how many failed logins a connection gets.
const maxLoginFailures = 3

// Login authenticates; go-imap only calls it over TLS unless InsecureAuth.
func (s *session) Login(username, password string) error {
	acct, err := s.store().Authenticate(s.ctx(), username, password)
	if errors.Is(err, mailstore.ErrAuthFailed) {
		s.failures++
		s.srv.log.Info("login failed", "remote", s.remote.String(), "user", username)
		if s.srv.opts.AuthFailed != nil {
			s.srv.opts.AuthFailed(s.remote, username)
		}
		if s.failures >= maxLoginFailures {
			s.hangUp("Too many failed logins")
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

// hangUp sends an untagged BYE and closes the connection; the tagged reply
// that go-imap then tries to write fails and ends the connection loop.
// (An error of type BYE from Login would be written as a tagged BYE and
// leave the connection open.) It writes to the connection directly because
// AUTHENTICATE calls Login while holding go-imap's response encoder, so
// Conn.Bye would deadlock; nothing is buffered then: the last response was
// flushed before the client could send its credentials.
func (s *session) hangUp(text string) {
	nc := s.conn.NetConn()
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "* BYE "+text+"\r\n")
	nc.Close()
}

// Unauthenticate returns to the not-authenticated state (RFC 8437).
func (s *session) Unauthenticate() error {
	s.waitIdle()
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

var (
	errNoSuchMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	// errTryCreate is for APPEND, COPY and MOVE (RFC 3501 §6.3.11, 6.4.7).
	errTryCreate = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	errDeleted   = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "The selected mailbox was deleted"}
)

// mailbox looks a mailbox of the logged-in account up by name. Names are
// per account: there is no way to name another account's mailbox.
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

// target is mailbox for the destination of APPEND, COPY and MOVE.
func (s *session) target(name string) (*mailstore.Mailbox, error) {
	m, err := s.mailbox(name)
	if err == errNoSuchMailbox {
		return nil, errTryCreate
	}
	return m, err
}

// selected returns the selected mailbox's view. go-imap only calls
// selected-state methods with a mailbox selected, but this session may
// have deleted it since (DELETE of the selected mailbox).
func (s *session) selected() (*view, error) {
	s.waitIdle()
	if s.sel == nil {
		return nil, errDeleted
	}
	return s.sel, nil
}
