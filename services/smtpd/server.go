package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// ErrServerClosed is returned by the Serve methods after Close or Shutdown.
var ErrServerClosed = errors.New("smtpd: server closed")

// Options configures a Server. The zero value of every field is a sensible
// default, but submission needs TLSConfig.
type Options struct {
	// Hostname is the name in the greeting, the EHLO reply and Received
	// headers. Default: os.Hostname, else "localhost".
	Hostname string

	// TLSConfig enables STARTTLS on MX and submission and is used for
	// implicit TLS on submissions. Without it, MX runs without TLS and the
	// submission listeners refuse to start.
	TLSConfig *tls.Config

	// MaxMessageBytes is the largest body accepted, advertised with SIZE.
	// Default 50 MiB.
	MaxMessageBytes int64

	// MaxRecipients is the most RCPTs per message. Default 100.
	MaxRecipients int

	// MaxConnsPerIP is the most connections one IP address may have open on
	// one kind of listener (MX, submission, submissions). Extra connections
	// get "421 4.7.0 too many connections from your address" and are closed.
	// Default 10.
	MaxConnsPerIP int

	// ReadTimeout bounds the wait for each command line and for each read of
	// message data; WriteTimeout bounds each reply. Default 5 minutes each,
	// as RFC 5321 section 4.5.3.2 suggests.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// Logger receives one line per message and per refusal. Default
	// slog.Default(). Passwords and AUTH exchanges are never logged.
	Logger *slog.Logger

	// Trace, if set, receives a copy of everything sent and received, from
	// many connections at once. It is off by default because it contains
	// passwords.
	Trace io.Writer

	// AuthFailed is called after each failed AUTH, e.g. to feed the firewall.
	AuthFailed func(remote net.Addr, username string)

	// Now is the clock for Received headers. Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Hostname == "" {
		o.Hostname = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			o.Hostname = h
		}
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 50 << 20
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = 100
	}
	if o.MaxConnsPerIP <= 0 {
		o.MaxConnsPerIP = 10
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 5 * time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// kind is the kind of listener a connection came in on.
type kind int

const (
	kindMX          kind = iota // port 25
	kindSubmission              // port 587, STARTTLS
	kindSubmissions             // port 465, implicit TLS
	numKinds
)

func (k kind) submission() bool { return k != kindMX }

func (k kind) String() string {
	return [...]string{"mx", "submission", "submissions"}[k]
}

// Server is an SMTP server for the three listener kinds. It tracks its
// listeners, connections and deliveries; Close and Shutdown wait for all of
// them to end.
type Server struct {
	be   Backend
	opts Options
	log  *slog.Logger

	// ctx is given to the Backend; it is cancelled when connections are
	// closed by force.
	ctx    context.Context
	cancel context.CancelFunc

	inner [numKinds]*smtp.Server

	serving sync.WaitGroup // Serve calls; Add only under mu before stopping
	work    sync.WaitGroup // refusals and deliveries; Add only under mu before finished

	// drainAt is set when Shutdown begins (see drain).
	drainAt atomic.Pointer[time.Time]

	// mu guards the fields below.
	mu        sync.Mutex
	stopped   chan struct{} // set when stopping begins, closed when all ended
	finished  bool          // every connection ended; no more deliveries
	listeners []net.Listener
	conns     map[*trackedConn]struct{}
	perIP     map[ipKey]int // connections per listener kind and address
	refusing  int           // connections being refused
}

// NewServer returns a server that hands messages to be. It starts nothing:
// call the Serve methods.
func NewServer(be Backend, opts Options) *Server {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		be:     be,
		opts:   opts,
		log:    opts.Logger,
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[*trackedConn]struct{}),
		perIP:  make(map[ipKey]int),
	}
	for k := range s.inner {
		s.inner[k] = s.newInner(kind(k))
	}
	return s
}

func (s *Server) newInner(k kind) *smtp.Server {
	in := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return s.newSession(k, c), nil
	}))
	in.Domain = s.opts.Hostname
	in.TLSConfig = s.opts.TLSConfig
	in.MaxMessageBytes = s.opts.MaxMessageBytes
	in.MaxRecipients = s.opts.MaxRecipients
	in.ReadTimeout = s.opts.ReadTimeout
	in.WriteTimeout = s.opts.WriteTimeout
	in.EnableSMTPUTF8 = true
	in.EnableDSN = true
	in.EnableREQUIRETLS = true // go-smtp offers it on TLS sessions only
	// session.Auth refuses AUTH before TLS itself, with the 538 5.7.11 of
	// RFC 4954; go-smtp's own check would answer with a 523.
	in.AllowInsecureAuth = true
	in.ErrorLog = errorLog{s.log.With(slog.String("listener", k.String()))}
	if s.opts.Trace != nil {
		in.Debug = s.opts.Trace
	}
	return in
}

// ServeMX accepts mail for local recipients on l (port 25). Like the other
// Serve methods it may be called for several listeners, closes l when it
// returns, and returns ErrServerClosed after Close or Shutdown.
func (s *Server) ServeMX(l net.Listener) error { return s.serve(kindMX, l) }

// ServeSubmission accepts mail from authenticated users on l (port 587):
// STARTTLS, then AUTH, then MAIL.
func (s *Server) ServeSubmission(l net.Listener) error { return s.serve(kindSubmission, l) }

// ServeSubmissions is ServeSubmission with implicit TLS (port 465); l is a
// plain TCP listener.
func (s *Server) ServeSubmissions(l net.Listener) error { return s.serve(kindSubmissions, l) }

// serve runs go-smtp on l until l fails or the server stops. It always
// closes l.
func (s *Server) serve(k kind, l net.Listener) error {
	defer l.Close()
	if k.submission() && s.opts.TLSConfig == nil {
		return fmt.Errorf("smtpd: serve %v: no TLS configuration", k)
	}
	s.mu.Lock()
	if s.stopped != nil {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, l)
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()

	var sl net.Listener = &limitListener{Listener: l, s: s, kind: k}
	if k == kindSubmissions {
		sl = tls.NewListener(sl, s.opts.TLSConfig)
	}
	err := s.inner[k].Serve(sl)
	if s.stopping() {
		return ErrServerClosed
	}
	return fmt.Errorf("smtpd: serve %v: %w", k, err)
}

func (s *Server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped != nil
}

// Close closes the listeners and every connection at once, cancels the
// context of Backend calls, and waits until all of them have returned.
// Close and Shutdown may be called more than once, and one after the other.
func (s *Server) Close() error {
	done, err := s.stop()
	s.abort()
	<-done
	return err
}

// Shutdown closes the listeners and waits for the connections to end by
// themselves (clients sending QUIT, or timeouts). When ctx ends first it
// closes them by force as Close does, waits for that, and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	done, err := s.stop()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		s.abort()
		<-done
		return errors.Join(err, ctx.Err())
	}
}

// stop closes the listeners the first time it is called and returns a
// channel that is closed once every connection and delivery has ended.
func (s *Server) stop() (<-chan struct{}, error) {
	s.mu.Lock()
	if s.stopped != nil {
		s.mu.Unlock()
		return s.stopped, nil
	}
	done := make(chan struct{})
	s.stopped = done
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()

	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("smtpd: close listener: %w", err))
		}
	}
	s.drain()
	go s.waitEnd(done)
	return done, errors.Join(errs...)
}

// waitEnd closes done when the Serve calls, go-smtp's connection goroutines,
// refusals and deliveries have all returned.
func (s *Server) waitEnd(done chan struct{}) {
	s.serving.Wait()
	for _, in := range s.inner {
		// The listeners are closed, so this only waits for connections.
		_ = in.Shutdown(context.Background())
	}
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
	s.work.Wait()
	s.cancel()
	close(done)
}

// abort cancels Backend calls and closes every connection.
func (s *Server) abort() {
	s.cancel()
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// beginDelivery registers a delivery with Close and Shutdown. The caller
// calls s.work.Done when it ends.
func (s *Server) beginDelivery() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return false
	}
	s.work.Add(1)
	return true
}

// errorLog passes go-smtp's internal errors (failed handshakes, recovered
// panics with their stack) to slog.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.log(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.log(fmt.Sprintln(v...)) }

func (e errorLog) log(msg string) {
	msg = strings.TrimSpace(msg)
	if strings.HasPrefix(msg, "panic") {
		e.l.Error("smtp: " + msg)
		return
	}
	e.l.Warn("smtp: " + msg)
}
