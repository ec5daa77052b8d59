package pop3d

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve and ServeTLS after Close or Shutdown.
var ErrServerClosed = errors.New("pop3d: server closed")

// Defaults for the zero values of Options.
const (
	DefaultIdleTimeout   = 10 * time.Minute // RFC 1939 section 3 minimum
	DefaultMaxConns      = 200
	DefaultAuthFailDelay = time.Second
)

const (
	maxAuthFailures     = 3               // per session, then the connection is closed
	maxRejecting        = 16              // connections being told "too many connections"
	rejectTimeout       = 2 * time.Second // to tell them
	tlsHandshakeTimeout = 30 * time.Second
)

// Options configure a Server. The zero value serves plain POP3 without STLS
// and refuses every login until TLS is configured.
type Options struct {
	// TLSConfig is needed for STLS and ServeTLS; nil means no TLS.
	TLSConfig *tls.Config
	// Hostname is shown in the greeting. Characters other than printable
	// ASCII (spaces included) are dropped.
	Hostname string
	// Logger receives errors and session events; nil discards them. It
	// never receives passwords.
	Logger *slog.Logger
	// AuthFailed, if set, is called for each failed login with the
	// username the client gave (possibly empty). The firewall counts these.
	AuthFailed func(remote net.Addr, username string)
	// AuthFailDelay is how long a failed login waits before its reply:
	// 0 means DefaultAuthFailDelay, negative means no delay (tests).
	AuthFailDelay time.Duration
	// InsecureAuth allows USER/PASS and AUTH without TLS. For tests only.
	InsecureAuth bool
	// IdleTimeout closes a session that sends no command for this long
	// (RFC 1939 autologout); it also bounds each write. 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConns limits concurrent sessions over all listeners; 0 means
	// DefaultMaxConns. Further clients get "-ERR [SYS/TEMP]" and are
	// disconnected.
	MaxConns int
}

// Server serves POP3 sessions on any number of listeners.
type Server struct {
	be       Backend
	opts     Options
	log      *slog.Logger
	greeting string
	ctx      context.Context // cancelled by Close; parent of the sessions' contexts
	cancel   context.CancelFunc
	wg       sync.WaitGroup // session and reject goroutines

	// mu protects the fields below.
	mu        sync.Mutex
	closed    bool                       // no new connections
	draining  bool                       // sessions stop before reading their next command
	listeners map[*net.Listener]struct{} // being served
	conns     map[*session]bool          // sessions; true while waiting for a command
	rejects   map[net.Conn]struct{}      // being told "too many connections"
}

// NewServer returns a server for be. It starts nothing.
func NewServer(be Backend, opts Options) *Server {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.AuthFailDelay == 0 {
		opts.AuthFailDelay = DefaultAuthFailDelay
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	greeting := "POP3 server ready"
	if h := printable(opts.Hostname, 100); h != "" {
		greeting = h + " " + greeting
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		be:        be,
		opts:      opts,
		log:       logger,
		greeting:  greeting,
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[*net.Listener]struct{}),
		conns:     make(map[*session]bool),
		rejects:   make(map[net.Conn]struct{}),
	}
}

// printable returns s without characters other than printable ASCII
// (0x21-0x7E), cut to max bytes: it can then go into a response line.
func printable(s string, max int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if s[i] > 0x20 && s[i] < 0x7f {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// Serve accepts connections on l and serves POP3 on them, offering STLS when
// Options.TLSConfig is set (port 110). It closes l when it returns, and
// returns ErrServerClosed after Close or Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

// ServeTLS is like Serve for implicit TLS (port 995): each connection starts
// with a TLS handshake using Options.TLSConfig.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLSConfig == nil {
		l.Close()
		return errors.New("pop3d: ServeTLS without Options.TLSConfig")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if !s.trackListener(&l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(&l, false)
	defer l.Close()
	var backoff time.Duration
	for {
		raw, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Probably out of file descriptors: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", slog.Any("err", err), slog.Duration("retry", backoff))
			if !s.sleep(backoff) {
				return ErrServerClosed
			}
			continue
		}
		backoff = 0
		s.start(raw, implicitTLS)
	}
}

// sleep waits for d, or less if the server is closed; it reports whether
// the server is still open.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, l)
		return true
	}
	if s.closed {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// start runs a session for raw in a new goroutine, or turns raw away.
func (s *Server) start(raw net.Conn, implicitTLS bool) {
	c := newSession(s, raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		raw.Close()
	case len(s.conns) < s.opts.MaxConns:
		s.conns[c] = false
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			c.serve(implicitTLS)
		}()
	case len(s.rejects) < maxRejecting:
		s.rejects[raw] = struct{}{}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.reject(raw, implicitTLS)
		}()
	default:
		raw.Close()
	}
}

// reject tells a client that the server is full, and hangs up.
func (s *Server) reject(raw net.Conn, implicitTLS bool) {
	defer func() {
		s.mu.Lock()
		delete(s.rejects, raw)
		s.mu.Unlock()
	}()
	defer raw.Close()
	s.log.Warn("too many connections", slog.String("remote", raw.RemoteAddr().String()))
	conn := raw
	if implicitTLS {
		conn = tls.Server(raw, s.opts.TLSConfig)
	}
	conn.SetDeadline(time.Now().Add(rejectTimeout))
	conn.Write([]byte("-ERR [SYS/TEMP] Too many connections, try again later\r\n"))
}

func (s *Server) forget(c *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// waitCommand marks c as waiting for a command, so that Shutdown may
// interrupt it, and sets its idle deadline. It reports false when the server
// is shutting down: c must then stop.
func (s *Server) waitCommand(c *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[c] = true
	c.raw.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
	return true
}

// busy marks c as running a command, which Shutdown lets finish.
func (s *Server) busy(c *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = false
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// stop stops accepting connections and makes sessions stop before their
// next command. With hard, it also closes every connection.
func (s *Server) stop(hard bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.draining = true
	var errs []error
	for l := range s.listeners {
		if err := (*l).Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for c, waiting := range s.conns {
		switch {
		case hard:
			c.raw.Close()
		case waiting:
			c.raw.SetReadDeadline(time.Unix(1, 0)) // interrupt the read
		}
	}
	if hard {
		for raw := range s.rejects {
			raw.Close()
		}
	}
	return errors.Join(errs...)
}

// Close closes the listeners and all connections at once, cancels the
// context of running backend calls and waits for the sessions to end.
// Sessions that were not at QUIT commit nothing.
func (s *Server) Close() error {
	err := s.stop(true)
	s.cancel()
	s.wg.Wait()
	return err
}

// Shutdown closes the listeners, ends sessions that wait for a command
// (telling them "-ERR [SYS/TEMP]"), lets running commands finish, and waits
// for all sessions to end. When ctx ends first, it calls Close and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.stop(false)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return err
	case <-ctx.Done():
		s.Close()
		<-done
		return ctx.Err()
	}
}
