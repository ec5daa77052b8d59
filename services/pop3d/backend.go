package pop3d

import (
	"context"
	"errors"
	"io"
	"net"
)

// Errors a Backend returns, possibly wrapped, to choose the reply the client
// gets. Any other error is reported as "-ERR [SYS/TEMP]" and logged.
var (
	// ErrAuthFailed is returned by Backend.Login for wrong credentials
	// (unknown user or wrong password): "-ERR [AUTH] Authentication failed".
	ErrAuthFailed = errors.New("authentication failed")

	// ErrInUse is returned by Backend.Login when the maildrop is locked by
	// another POP3 session: "-ERR [IN-USE] ...".
	ErrInUse = errors.New("maildrop in use")

	// ErrExpunged is returned by Maildrop.Open when the message was removed
	// (for example over IMAP) after the snapshot was taken.
	ErrExpunged = errors.New("message expunged")
)

// Backend opens maildrops. It must be safe for concurrent use.
type Backend interface {
	// Login checks credentials and opens a snapshot of the user's INBOX
	// (maildrop). It returns ErrAuthFailed for wrong credentials and
	// ErrInUse when another POP3 session holds the maildrop.
	Login(ctx context.Context, username, password string, remote net.Addr) (Maildrop, error)
}

// Maildrop is one session's view of a mailbox, from login to QUIT. A session
// calls its methods from one goroutine only.
type Maildrop interface {
	// Messages returns the snapshot taken at login, in order; message
	// numbers are 1-based indexes into it. It is called once.
	Messages() []Message

	// Open returns the raw RFC 5322 bytes of m. Lines should end in CRLF;
	// bare LF is converted. It returns ErrExpunged if m is gone.
	Open(ctx context.Context, m Message) (io.ReadCloser, error)

	// Commit removes the messages deleted in the session (the UPDATE state
	// entered by QUIT). It is called once, at QUIT in the TRANSACTION
	// state, possibly with an empty list; never for a dropped connection.
	// It should be all or nothing: when it fails, the client is told that
	// nothing was removed. Messages already gone must not make it fail.
	Commit(ctx context.Context, deleted []Message) error

	// Close releases the maildrop (its lock). It is always called, last.
	Close() error
}

// Message is one message of a maildrop snapshot.
type Message struct {
	// UID is the RFC 1939 unique-id: 1 to 70 characters from 0x21 to 0x7E,
	// stable across sessions.
	UID string
	// Size is the exact size in octets of the message as RETR sends it,
	// with CRLF line endings and without dot-stuffing.
	Size int64
	// Ref is the backend's own handle; the server does not look at it.
	Ref any
}

// validUID reports whether uid is a valid RFC 1939 unique-id.
func validUID(uid string) bool {
	if len(uid) < 1 || len(uid) > 70 {
		return false
	}
	for i := 0; i < len(uid); i++ {
		if uid[i] < 0x21 || uid[i] > 0x7e {
			return false
		}
	}
	return true
}
