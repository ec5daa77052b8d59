package smtpd

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// refuseTimeout bounds the TLS handshake and the write of a refusal.
const refuseTimeout = 30 * time.Second

// maxRefusing caps the refusals under way; connections beyond it are
// closed without a word.
const maxRefusing = 100

// tooManyConns is sent to connections over Options.MaxConnsPerIP.
const tooManyConns = "421 4.7.0 too many connections from your address\r\n"

// ipKey counts connections per listener kind and client address.
type ipKey struct {
	kind kind
	ip   string
}

// limitListener registers every accepted connection with the Server and
// refuses those over the per-address limit. It sits below TLS, so that the
// count covers handshakes too.
type limitListener struct {
	net.Listener
	s    *Server
	kind kind
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.admit(l.kind, c); tc != nil {
			return tc, nil
		}
	}
}

// admit returns the tracked connection, or nil if c was refused or the
// server is stopping.
func (s *Server) admit(k kind, c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, s: s, key: ipKey{k, remoteIP(c.RemoteAddr())}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped != nil {
		c.Close()
		return nil
	}
	if s.perIP[tc.key] >= s.opts.MaxConnsPerIP {
		if s.refusing >= maxRefusing { // a flood: spend nothing on it
			c.Close()
			return nil
		}
		s.refusing++
		s.conns[tc] = struct{}{}
		s.work.Add(1)
		go s.refuse(tc)
		return nil
	}
	s.perIP[tc.key]++
	tc.counted = true
	s.conns[tc] = struct{}{}
	return tc
}

// refuse tells the client why it is turned away, over TLS on the implicit
// TLS listener, and closes the connection.
func (s *Server) refuse(tc *trackedConn) {
	defer s.work.Done()
	defer tc.Close()
	s.log.Warn("too many connections",
		slog.String("listener", tc.key.kind.String()),
		slog.String("remote", tc.key.ip))
	var c net.Conn = tc
	_ = c.SetDeadline(time.Now().Add(refuseTimeout))
	if tc.key.kind == kindSubmissions {
		t := tls.Server(tc, s.opts.TLSConfig)
		if err := t.Handshake(); err != nil {
			return
		}
		c = t
	}
	_, _ = io.WriteString(c, tooManyConns)
}

// forget removes a closed connection from the server's books.
func (s *Server) forget(tc *trackedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, tc)
	if !tc.counted {
		s.refusing--
		return
	}
	if s.perIP[tc.key]--; s.perIP[tc.key] <= 0 {
		delete(s.perIP, tc.key)
	}
}

// trackedConn is a client connection known to the Server.
type trackedConn struct {
	net.Conn
	s       *Server
	key     ipKey
	counted bool // counts towards the per-address limit

	once       sync.Once
	closeAfter atomic.Bool // close once the next write is done
	readErr    error       // first read error; only the reading goroutine uses it
}

// Read makes read errors sticky. After a timeout in the middle of message
// data go-smtp replies and goes on reading commands; with the error sticky
// it reads none, says 421 and closes, instead of taking the rest of the
// message for commands. A plain net.Conn or tls.Conn would let it retry.
func (tc *trackedConn) Read(p []byte) (int, error) {
	if tc.readErr != nil {
		return 0, tc.readErr
	}
	n, err := tc.Conn.Read(p)
	if err != nil {
		tc.readErr = err
	}
	return n, err
}

// Write lets the session have a reply written before the connection is
// closed: go-smtp offers no way to close a connection after a reply.
func (tc *trackedConn) Write(p []byte) (int, error) {
	n, err := tc.Conn.Write(p)
	if tc.closeAfter.Load() {
		tc.Close()
	}
	return n, err
}

func (tc *trackedConn) Close() error {
	tc.once.Do(func() { tc.s.forget(tc) })
	return tc.Conn.Close()
}

// closeAfterReply makes c close itself after the next reply, which is
// written with a single write also under TLS.
func closeAfterReply(c net.Conn) bool {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, ok := c.(*trackedConn)
	if ok {
		tc.closeAfter.Store(true)
	}
	return ok
}

// remoteIP returns the address part of a, without port or zone.
func remoteIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	return ap.Addr().Unmap().WithZone("").String()
}

// drainGrace is how long Shutdown lets a connection wait for its next
// command or its next bytes of data: idle sessions are then closed, while
// a transaction that is sending data goes on until its reply.
const drainGrace = time.Second

// SetReadDeadline caps every read deadline at the drain deadline once
// Shutdown has begun, so that go-smtp's per-command deadlines (minutes)
// cannot keep an idle client's session, and Shutdown, waiting.
func (tc *trackedConn) SetReadDeadline(t time.Time) error {
	if d := tc.s.drainAt.Load(); d != nil && (t.IsZero() || t.After(*d)) {
		t = *d
	}
	return tc.Conn.SetReadDeadline(t)
}

// drain starts the drain: every read now ends by the drain deadline.
func (s *Server) drain() {
	d := time.Now().Add(drainGrace)
	s.drainAt.Store(&d)
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.SetReadDeadline(d)
	}
}
