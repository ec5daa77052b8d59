package pop3d

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"facteur/internal/testcert"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Messages of user "alice" (password "secret") in most tests.
const (
	msg1 = "From: bob@example.org\r\nSubject: one\r\n\r\nfirst line\r\n.starts with a dot\r\nlast line\r\n"
	msg2 = "Subject: two\n\nbare LF\nno final newline"
)

var testCert = sync.OnceValue(func() *testcert.Pair { return testcert.New("localhost") })

func serverTLSConfig() *tls.Config { return testCert().Server.Clone() }

func clientTLSConfig() *tls.Config { return testCert().Client.Clone() }

// testServer is a Server on 127.0.0.1:0 with its log kept for inspection.
type testServer struct {
	*Server
	addr string
	be   *memBackend
	logs *syncBuffer
}

// startServer serves be with opts, by default with TLS available,
// InsecureAuth unset and no delay after failed logins.
func startServer(t *testing.T, be *memBackend, opts Options, implicitTLS bool) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.AuthFailDelay == 0 {
		opts.AuthFailDelay = -1
	}
	if opts.Hostname == "" {
		opts.Hostname = "pop.example.org"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(be, opts)
	done := make(chan error, 1)
	go func() {
		if implicitTLS {
			done <- srv.ServeTLS(l)
		} else {
			done <- srv.Serve(l)
		}
	}()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{Server: srv, addr: l.Addr().String(), be: be, logs: logs}
}

// aliceBackend has user alice with msg1 and msg2, and bob with nothing.
func aliceBackend() *memBackend {
	be := newMemBackend()
	be.addUser("alice", "secret", msg1, msg2)
	be.addUser("bob", "hunter2")
	return be
}

type syncBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// client speaks raw POP3 lines to a test server.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dial connects and reads the greeting.
func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	c.expect("+OK pop.example.org POP3 server ready")
	return c
}

// dialTLS connects with implicit TLS and reads the greeting.
func dialTLS(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, clientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	c.expect("+OK pop.example.org POP3 server ready")
	return c
}

func newClient(t *testing.T, conn net.Conn) *client {
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send writes s as is.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// line reads one line, checks that it ends in CRLF, and returns it without.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads one line and checks it.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.line(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// cmd sends a command and returns the first line of the reply.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.line()
}

// check sends a command and checks the first line of the reply.
func (c *client) check(line, want string) {
	c.t.Helper()
	c.send(line + "\r\n")
	if got := c.line(); got != want {
		c.t.Fatalf("%s: got %q, want %q", line, got, want)
	}
}

// multi reads the lines of a multi-line response up to ".", as sent
// (still dot-stuffed).
func (c *client) multi() []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		if l == "." {
			return lines
		}
		lines = append(lines, l)
	}
}

// expectClosed checks that the server hung up.
func (c *client) expectClosed() {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err == nil {
		c.t.Fatalf("got %q, want the connection closed", l)
	}
}

// login logs in as alice with USER/PASS.
func (c *client) login() {
	c.t.Helper()
	c.check("USER alice", "+OK Send PASS")
	c.check("PASS secret", "+OK Logged in, 2 messages (125 octets)")
}

func TestGreetingAndQuit(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{}, false)
	c := dial(t, ts.addr)
	c.check("QUIT", "+OK Bye")
	c.expectClosed()
}

func TestHostnameSanitized(t *testing.T) {
	srv := NewServer(aliceBackend(), Options{Hostname: "evil\r\nhost name"})
	defer srv.Close()
	if got, want := srv.greeting, "evilhostname POP3 server ready"; got != want {
		t.Errorf("greeting %q, want %q", got, want)
	}
}
