package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"facteur/internal/testcert"
	"facteur/services/mailstore"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	alice    = "alice@example.org"
	bob      = "bob@example.org"
	password = "correct horse battery"

	// wait bounds every read of the test clients: long enough for a slow
	// machine, short enough that a missing reply fails the test.
	wait = 10 * time.Second
)

// env is a mail store with two accounts and a server listening on a plain
// (STARTTLS) and an implicit-TLS port of 127.0.0.1.
type env struct {
	store   *mailstore.Store
	srv     *Server
	addr    string // plain, STARTTLS offered
	tlsAddr string // implicit TLS
	client  *tls.Config
	ids     map[string]uint64 // account IDs by address
	logs    *logRecorder

	// mu guards failed.
	mu     sync.Mutex
	failed []string // usernames passed to Options.AuthFailed
}

// newEnv starts a server with InsecureAuth (tests log in over plain
// connections) unless a setter changes it.
func newEnv(t testing.TB, set ...func(*Options)) *env {
	t.Helper()
	st, err := mailstore.Open(t.TempDir(), mailstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, ids: map[string]uint64{}, logs: &logRecorder{}}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{alice, bob} {
		a, err := st.AddAccount(ctx, addr, password)
		if err != nil {
			t.Fatal(err)
		}
		e.ids[addr] = a.ID
	}
	serverTLS, clientTLS := testCerts(t)
	e.client = clientTLS
	opts := Options{
		TLSConfig:    serverTLS,
		Logger:       slog.New(e.logs),
		InsecureAuth: true,
		AuthFailed: func(_ net.Addr, user string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.failed = append(e.failed, user)
		},
	}
	for _, f := range set {
		f(&opts)
	}
	e.srv = NewServer(st, opts)
	e.addr = e.serve(t, e.srv.Serve)
	e.tlsAddr = e.serve(t, e.srv.ServeTLS)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// serve runs serve on a new listener until the test ends.
func (e *env) serve(t testing.TB, serve func(net.Listener) error) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(l) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// stop shuts the server down and checks that nothing went wrong inside.
func (e *env) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if bad := e.logs.bad(); len(bad) > 0 {
		t.Errorf("server logged errors or panics:\n%s", strings.Join(bad, "\n"))
	}
}

func (e *env) authFailures() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.failed)
}

// deliver stores msg in addr's INBOX as the SMTP server would.
func (e *env) deliver(t testing.TB, addr, msg string) uint32 {
	t.Helper()
	return e.deliverAt(t, addr, msg, time.Now())
}

func (e *env) deliverAt(t testing.TB, addr, msg string, date time.Time) uint32 {
	t.Helper()
	p, err := e.store.Deliver(context.Background(), date, []mailstore.Target{{Account: e.ids[addr]}}, nil, strings.NewReader(crlf(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return p[0].UID
}

// logRecorder is a slog handler that keeps what would show a server bug:
// errors (internal failures) and go-imap's panic reports.
type logRecorder struct {
	// mu guards recs and allowed.
	mu      sync.Mutex
	recs    []string
	allowed bool
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && !strings.Contains(r.Message, "panic") {
		return nil
	}
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, line)
	return nil
}

// allowErrors is for tests that make the server fail on purpose.
func (h *logRecorder) allowErrors() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.allowed = true
}

func (h *logRecorder) bad() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.allowed {
		return nil
	}
	return slices.Clone(h.recs)
}

// testCerts returns a server config with a fresh self-signed certificate
// for 127.0.0.1 and a client config that trusts it.
func testCerts(t testing.TB) (server, client *tls.Config) {
	p := testcert.New("127.0.0.1")
	return p.Server, p.Client
}

// client is a line-based IMAP test client: it sends tagged commands and
// collects the untagged lines up to the tagged reply.
type client struct {
	t   testing.TB
	nc  net.Conn
	r   *bufio.Reader
	tag int
}

// reply is the server's answer to one command.
type reply struct {
	lines  []string // untagged and continuation lines, literals inline
	status string   // OK, NO, BAD (or BYE)
	text   string   // the tagged line without tag and status
}

func (e *env) dial(t testing.TB) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", e.addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, nc)
}

func (e *env) dialTLS(t testing.TB) *client {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", e.tlsAddr, e.client)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, nc)
}

// login dials, logs in as user and returns the client.
func (e *env) login(t testing.TB, user string) *client {
	t.Helper()
	c := e.dial(t)
	c.ok("LOGIN " + user + " " + quote(password))
	return c
}

// selected logs in as user and selects box.
func (e *env) selected(t testing.TB, user, box string) *client {
	t.Helper()
	c := e.login(t, user)
	c.ok("SELECT " + box)
	return c
}

func newClient(t testing.TB, nc net.Conn) *client {
	t.Helper()
	c := &client{t: t, nc: nc, r: bufio.NewReader(nc)}
	t.Cleanup(func() { nc.Close() })
	if g := c.readLine(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting: got %q, want * OK", g)
	}
	return c
}

// send writes a raw line (CRLF added).
func (c *client) send(line string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// literalRE finds a literal announced at the end of a line.
var literalRE = regexp.MustCompile(`~?\{(\d+)\+?\}$`)

// readLine reads one response line, with any literals it carries inline.
func (c *client) readLine() string {
	c.t.Helper()
	line, err := c.tryReadLine()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return line
}

func (c *client) tryReadLine() (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(wait))
	var sb strings.Builder
	for {
		part, err := c.r.ReadString('\n')
		if err != nil {
			return sb.String() + part, err
		}
		part = strings.TrimSuffix(part, "\r\n")
		sb.WriteString(part)
		m := literalRE.FindStringSubmatch(part)
		if m == nil {
			return sb.String(), nil
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return sb.String(), err
		}
		sb.WriteString("\r\n")
		sb.Write(buf)
	}
}

// next returns the next command's tag.
func (c *client) next() string {
	c.tag++
	return "a" + strconv.Itoa(c.tag)
}

// do sends a command and reads the reply.
func (c *client) do(cmd string) reply {
	c.t.Helper()
	tag := c.next()
	c.send(tag + " " + cmd)
	return c.readReply(tag)
}

// readReply reads up to the tagged line of tag.
func (c *client) readReply(tag string) reply {
	c.t.Helper()
	var r reply
	for {
		line := c.readLine()
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			r.status, r.text, _ = strings.Cut(rest, " ")
			return r
		}
		r.lines = append(r.lines, line)
	}
}

// ok runs cmd, requires OK and returns the untagged lines.
func (c *client) ok(cmd string) []string {
	c.t.Helper()
	r := c.do(cmd)
	if r.status != "OK" {
		c.t.Fatalf("%s: got %s %s, want OK", redact(cmd), r.status, r.text)
	}
	return r.lines
}

// expect runs cmd and requires status; it returns the reply.
func (c *client) expect(status, cmd string) reply {
	c.t.Helper()
	r := c.do(cmd)
	if r.status != status {
		c.t.Fatalf("%s: got %s %s, want %s", redact(cmd), r.status, r.text, status)
	}
	return r
}

// eof reports whether the server closed the connection (after reading
// any lines it sent first).
func (c *client) eof() bool {
	for {
		_, err := c.tryReadLine()
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return true
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false
		}
		if err != nil {
			return true // reset by peer and the like
		}
	}
}

func redact(cmd string) string {
	if strings.HasPrefix(strings.ToUpper(cmd), "LOGIN ") {
		return "LOGIN ..."
	}
	return cmd
}

func quote(s string) string { return strconv.Quote(s) }

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// has reports whether some line contains want.
func has(lines []string, want string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) })
}

// mustHave fails unless every want is a substring of some line.
func mustHave(t testing.TB, what string, lines []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !has(lines, w) {
			t.Errorf("%s: got %q, want a line with %q", what, lines, w)
		}
	}
}

// mustNotHave fails if some line contains one of bad.
func mustNotHave(t testing.TB, what string, lines []string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if has(lines, b) {
			t.Errorf("%s: got %q, want no line with %q", what, lines, b)
		}
	}
}

// only returns the lines that start with prefix.
func only(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// appendMsg APPENDs msg to box with a synchronizing literal and returns
// the tagged reply.
func (c *client) appendMsg(box, flagsAndDate, msg string) reply {
	c.t.Helper()
	msg = crlf(msg)
	tag := c.next()
	args := box
	if flagsAndDate != "" {
		args += " " + flagsAndDate
	}
	c.send(fmt.Sprintf("%s APPEND %s {%d}", tag, args, len(msg)))
	line := c.readLine()
	if !strings.HasPrefix(line, "+") {
		// Refused before the literal was sent.
		r := reply{}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			r.status, r.text, _ = strings.Cut(rest, " ")
		}
		return r
	}
	c.send(msg)
	return c.readReply(tag)
}

// Test messages. Lines end in LF here; crlf converts them.
const (
	msgPlain = `From: Alice Example <alice@example.org>
To: Bob <bob@example.org>
Cc: carol@example.net
Subject: Lunch on Friday
Date: Mon, 02 Mar 2026 10:00:00 +0000
Message-ID: <lunch@example.org>
Content-Type: text/plain; charset=utf-8

Shall we meet at noon?
`

	msgMultipart = `From: Carol <carol@example.net>
To: alice@example.org
Subject: =?utf-8?q?Rapport_trimestriel_=E2=80=94_caf=C3=A9?=
Date: Tue, 10 Mar 2026 08:30:00 +0100
Message-ID: <report@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Le caf=C3=A9 est pr=C3=AAt.
--XYZ
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

aGVsbG8gYmluYXJ5AAE=
--XYZ--
`

	msgNested = `From: Dave <dave@example.com>
To: alice@example.org
Subject: Fwd: Lunch on Friday
Date: Wed, 11 Mar 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

See below.
--outer
Content-Type: message/rfc822

From: Alice Example <alice@example.org>
Subject: Lunch on Friday

Shall we meet at noon?
--outer--
`

	msgUnknownCTE = `From: Eve <eve@example.com>
To: alice@example.org
Subject: Strange encoding
Date: Thu, 12 Mar 2026 12:00:00 +0000
Content-Type: text/plain
Content-Transfer-Encoding: x-unknown

garbled
`
)

// plainMsg returns a small message with the given subject and body.
func plainMsg(subject, body string) string {
	return "From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: " + subject +
		"\nDate: Mon, 02 Mar 2026 10:00:00 +0000\n\n" + body + "\n"
}
