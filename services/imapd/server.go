// Package imapd serves the mail store over IMAP, on go-imap v2's imapserver.
//
// It implements IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) with the
// extensions the library advertises for them: IDLE (RFC 2177), NAMESPACE
// (RFC 2342), UIDPLUS (RFC 4315), ESEARCH (RFC 4731), SEARCHRES (RFC 5182),
// LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
// CREATE-SPECIAL-USE (RFC 6154), MOVE (RFC 6851), STATUS=SIZE (RFC 8438),
// BINARY (RFC 3516), CHILDREN (RFC 3348), UNSELECT (RFC 3691), ENABLE
// (RFC 5161), UTF8=ACCEPT (RFC 6855), UNAUTHENTICATE (RFC 8437),
// APPENDLIMIT (RFC 7889), LITERAL- (RFC 7888), SASL-IR (RFC 4959) and
// STARTTLS. Logins are refused before TLS (unless Options.InsecureAuth),
// and a connection is closed after three failed ones.
//
// Each selected mailbox is a per-session view (the UIDs the client knows,
// by sequence number) kept in step with the store through its change feed:
// other sessions' and deliveries' changes reach the client at the next
// command or during IDLE. Expunges are held back during FETCH, STORE and
// SEARCH, so the client's sequence numbers never shift under it.
//
// Mailbox names are looked up in the logged-in account only; there is no
// namespace for other users or shared mailboxes.
package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Options configures the server. The zero value is usable for tests that
// set InsecureAuth.
type Options struct {
	TLSConfig *tls.Config // for STARTTLS and ServeTLS
	Logger    *slog.Logger
	// AuthFailed is called for each failed login (the firewall counts them).
	AuthFailed func(remote net.Addr, username string)
	// InsecureAuth allows logins without TLS. Tests only.
	InsecureAuth bool
	// AppendLimit is the largest message APPEND accepts; default 50 MiB.
	AppendLimit uint32
}

// Server is an IMAP server over a mail store.
type Server struct {
	store *mailstore.Store
	opts  Options
	log   *slog.Logger
	imap  *imapserver.Server

	closeOnce sync.Once
	closeErr  error

	// mu guards active and drained.
	mu      sync.Mutex
	active  int           // sessions not yet closed
	drained chan struct{} // closed when active drops to 0, if not nil
}

// NewServer returns a server for store.
func NewServer(store *mailstore.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AppendLimit == 0 {
		opts.AppendLimit = 50 << 20
	}
	s := &Server{store: store, opts: opts, log: opts.Logger}
	s.imap = imapserver.New(&imapserver.Options{
		NewSession:   s.newSession,
		Caps:         capabilities(),
		Logger:       slogPrintf{opts.Logger},
		TLSConfig:    opts.TLSConfig,
		InsecureAuth: opts.InsecureAuth,
	})
	return s
}

// capabilities lists what go-imap may advertise. It adds SASL-IR,
// LITERAL-, STARTTLS, AUTH=PLAIN, UNSELECT, ENABLE, IDLE, UTF8=ACCEPT and
// APPENDLIMIT itself; TestEveryCapabilityWorks has a probe for each.
//
// LITERAL+ is left out on purpose. When go-imap refuses a command with a
// non-synchronizing literal (an APPEND over APPENDLIMIT, a literal over
// 4096 bytes elsewhere), it does not read the literal: its bytes are then
// parsed as commands. A message a client uploads with LITERAL+ would run
// lines of its body, which a stranger may have written, in the user's
// session. With LITERAL- (RFC 7888 §5) clients send only literals of at
// most 4096 bytes without waiting, and those are never refused for size.
func capabilities() imap.CapSet {
	caps := imap.CapSet{}
	for _, c := range []imap.Cap{
		imap.CapIMAP4rev1, imap.CapIMAP4rev2, imap.CapNamespace, imap.CapUIDPlus,
		imap.CapESearch, imap.CapSearchRes, imap.CapListExtended, imap.CapListStatus,
		imap.CapMove, imap.CapStatusSize, imap.CapBinary, imap.CapChildren,
		imap.CapSpecialUse, imap.CapCreateSpecialUse, imap.CapUnauthenticate,
	} {
		caps[c] = struct{}{}
	}
	return caps
}

// Serve accepts plain connections (port 143; STARTTLS offered).
func (s *Server) Serve(l net.Listener) error { return s.imap.Serve(l) }

// ServeTLS accepts implicit-TLS connections (port 993).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLSConfig == nil {
		return fmt.Errorf("imapd: ServeTLS needs a TLS config")
	}
	return s.imap.Serve(tls.NewListener(l, s.opts.TLSConfig))
}

// Close closes the listeners and every connection. Calling it again does
// nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.imap.Close() })
	return s.closeErr
}

// Shutdown closes the listeners and every connection, then waits until
// every session has ended or ctx is done. go-imap has no graceful drain:
// commands in progress are cut off, and a client that was told OK already
// has its data on disk.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.Close()
	s.mu.Lock()
	if s.active == 0 {
		s.mu.Unlock()
		return err
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	done := s.drained
	s.mu.Unlock()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("imapd: shutdown: %w", ctx.Err()))
	}
}

func (s *Server) sessionStarted() {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
}

func (s *Server) sessionEnded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s.sessionStarted() // go-imap calls Close once NewSession has succeeded
	return &session{srv: s, conn: c, remote: c.NetConn().RemoteAddr(), started: time.Now()}, nil, nil
}

type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(format string, args ...any) {
	p.l.Warn(fmt.Sprintf(format, args...), "component", "imap")
}
