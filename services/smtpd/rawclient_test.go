package smtpd

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawClient speaks SMTP as raw lines over a socket, so that tests can send
// exactly the bytes they mean to.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dial connects to addr and reads the greeting.
func dial(t *testing.T, addr string) *rawClient {
	t.Helper()
	c := connect(t, addr, false)
	c.expect("220 ")
	return c
}

// dialTLS connects with implicit TLS and reads the greeting.
func dialTLS(t *testing.T, addr string) *rawClient {
	t.Helper()
	c := connect(t, addr, true)
	c.expect("220 ")
	return c
}

// connect opens a connection without reading anything.
func connect(t *testing.T, addr string, implicitTLS bool) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// A safety net against a hung test, not a timing assertion.
	conn.SetDeadline(time.Now().Add(time.Minute))
	if implicitTLS {
		conn = tls.Client(conn, testCerts().client)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send writes s as it is.
func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// reply reads one reply, all of its lines, joined by "\n".
func (c *rawClient) reply() string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read reply after %q: %v", lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect reads a reply and checks that its last line starts with want.
func (c *rawClient) expect(want string) string {
	c.t.Helper()
	got := c.reply()
	last := got[strings.LastIndex(got, "\n")+1:]
	if !strings.HasPrefix(last, want) {
		c.t.Fatalf("got reply %q, want %q", got, want)
	}
	return got
}

// cmd sends one command line and checks the reply.
func (c *rawClient) cmd(line, want string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(want)
}

// expectClosed checks that the server closed the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	rest, err := io.ReadAll(c.r)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		c.t.Fatalf("after %q: got %v, want the connection closed", rest, err)
	}
	if len(rest) > 0 {
		c.t.Fatalf("got %q, want the connection closed", rest)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// starttls upgrades the connection; EHLO must be sent again afterwards.
func (c *rawClient) starttls() {
	c.t.Helper()
	c.cmd("STARTTLS", "220 ")
	tc := tls.Client(c.conn, testCerts().client)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

// authPlain sends AUTH PLAIN with an initial response.
func (c *rawClient) authPlain(user, pass, want string) string {
	c.t.Helper()
	return c.cmd("AUTH PLAIN "+b64("\x00"+user+"\x00"+pass), want)
}

// submit sends one message with DATA and expects it accepted.
func (c *rawClient) submit(from string, to []string, data string) {
	c.t.Helper()
	c.cmd("MAIL FROM:<"+from+">", "250 ")
	for _, rcpt := range to {
		c.cmd("RCPT TO:<"+rcpt+">", "250 ")
	}
	c.cmd("DATA", "354 ")
	c.send(data + ".\r\n")
	c.expect("250 ")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
