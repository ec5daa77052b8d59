package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// tlsPolicy says how a connection to a host must use TLS.
type tlsPolicy struct {
	Required bool // no STARTTLS or a failed handshake fails the host
	Verify   bool // the certificate must be valid for the host name
	Implicit bool // TLS from the first byte (port 465)
}

// conn is an open SMTP session with a remote host, after EHLO.
type conn struct {
	*smtp.Client
	Host string // the host name we connected to
	TLS  bool
}

// greetTimeout bounds the connection, greeting, EHLO and TLS handshake.
const greetTimeout = 2 * time.Minute

// open connects to host (one of ips) on port and says EHLO, using TLS as
// pol says. Without pol.Required, a server whose STARTTLS fails is tried
// again in plain text, as Postfix's "may" level does.
func (q *Queue) open(ctx context.Context, host string, ips []net.IP, port int, pol tlsPolicy, auth sasl.Client) (*conn, *failure) {
	var last *failure
	for _, ip := range ips {
		c, f := q.openIP(ctx, host, ip, port, pol, true)
		if f != nil && !pol.Required && f.Status == "4.7.5" {
			c, f = q.openIP(ctx, host, ip, port, pol, false) // TLS failed: plain text
		}
		if f == nil && auth != nil {
			if err := c.Auth(auth); err != nil {
				c.Close()
				f = smtpFailure(host, err, "4.7.0")
			}
		}
		if f == nil {
			return c, nil
		}
		last = f
	}
	if last == nil {
		last = tempFail("4.4.4", "%s has no address", host)
	}
	return nil, last
}

func (q *Queue) openIP(ctx context.Context, host string, ip net.IP, port int, pol tlsPolicy, tryTLS bool) (*conn, *failure) {
	d := net.Dialer{Timeout: 30 * time.Second}
	if q.opts.LocalAddr != nil {
		d.LocalAddr = &net.TCPAddr{IP: q.opts.LocalAddr}
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, tempFail("4.4.1", "connecting to %s [%s]: %v", host, ip, err)
	}
	raw.SetDeadline(time.Now().Add(greetTimeout))
	var nc net.Conn = raw
	isTLS := false
	switch {
	case pol.Implicit:
		tc := tls.Client(raw, q.tlsConfig(host, pol.Verify))
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, tempFail("4.7.5", "TLS with %s [%s]: %v", host, ip, err)
		}
		nc, isTLS = tc, true
	default:
		ext, f := greet(raw, q.opts.Hostname, host)
		if f != nil {
			raw.Close()
			return nil, f
		}
		_, offered := ext["STARTTLS"]
		if pol.Required && !offered {
			raw.Close()
			return nil, tempFail("4.7.4", "%s does not offer STARTTLS, which is required here", host)
		}
		if offered && tryTLS {
			tc, f := startTLS(ctx, raw, q.tlsConfig(host, pol.Verify), host)
			if f != nil {
				raw.Close()
				return nil, f
			}
			nc, isTLS = tc, true
		}
		// go-smtp's client expects a greeting: the one we already read is
		// replayed so that it can say EHLO itself (again, after TLS).
		nc = &greetedConn{Conn: nc, pending: []byte("220 " + host + " ESMTP\r\n")}
	}
	c := smtp.NewClient(nc)
	c.CommandTimeout = 5 * time.Minute
	if err := c.Hello(q.opts.Hostname); err != nil {
		c.Close()
		return nil, smtpFailure(host, err, "4.4.2")
	}
	raw.SetDeadline(time.Time{})
	return &conn{Client: c, Host: host, TLS: isTLS}, nil
}

// greet reads the server's greeting and says EHLO, on a plain connection,
// returning the extensions offered.
func greet(raw net.Conn, ourName, host string) (map[string]string, *failure) {
	tp := textproto.NewConn(nopCloser{raw})
	if _, msg, err := tp.ReadResponse(220); err != nil {
		return nil, tempFail("4.4.2", "greeting from %s: %v %s", host, err, msg)
	}
	id, err := tp.Cmd("EHLO %s", ourName)
	if err != nil {
		return nil, tempFail("4.4.2", "EHLO to %s: %v", host, err)
	}
	tp.StartResponse(id)
	_, msg, err := tp.ReadResponse(250)
	tp.EndResponse(id)
	if err != nil {
		return map[string]string{}, nil // HELO only: no extensions, go-smtp falls back
	}
	ext := map[string]string{}
	for _, line := range strings.Split(msg, "\n")[1:] {
		k, v, _ := strings.Cut(line, " ")
		ext[strings.ToUpper(k)] = v
	}
	if tp.R.Buffered() > 0 {
		return nil, tempFail("4.4.2", "%s sent data before our next command", host)
	}
	return ext, nil
}

// startTLS sends STARTTLS and runs the handshake.
func startTLS(ctx context.Context, raw net.Conn, cfg *tls.Config, host string) (*tls.Conn, *failure) {
	if _, err := io.WriteString(raw, "STARTTLS\r\n"); err != nil {
		return nil, tempFail("4.4.2", "STARTTLS to %s: %v", host, err)
	}
	// Read the reply byte by byte: nothing may be buffered past it, the TLS
	// handshake follows on the same connection.
	line, err := readLine(raw)
	if err != nil || !strings.HasPrefix(line, "220") {
		return nil, tempFail("4.7.5", "STARTTLS refused by %s: %q %v", host, line, err)
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, tempFail("4.7.5", "TLS with %s: %v", host, err)
	}
	return tc, nil
}

func readLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 1000 {
		if _, err := r.Read(one); err != nil {
			return string(b), err
		}
		b = append(b, one[0])
		if one[0] == '\n' {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	return string(b), errors.New("reply line too long")
}

func (q *Queue) tlsConfig(host string, verify bool) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		RootCAs:            q.opts.RootCAs,
		InsecureSkipVerify: !verify, // opportunistic TLS (RFC 7435) when not enforced
		MinVersion:         tls.VersionTLS12,
	}
}

// greetedConn replays a greeting before the connection's own data.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}

type nopCloser struct{ io.ReadWriter }

func (nopCloser) Close() error { return nil }

// smtpFailure turns a client error into a failure: the server's reply when
// it gave one, a temporary failure with status def otherwise.
func smtpFailure(host string, err error, def string) *failure {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		f := &failure{
			Permanent: se.Code >= 500, RemoteMTA: host, SMTP: true,
			Text: fmt.Sprintf("%d %s", se.Code, se.Message),
		}
		f.Status = statusOf(se)
		return f
	}
	return &failure{Status: def, RemoteMTA: host, Text: fmt.Sprintf("%s: %v", host, err)}
}

// statusOf is the enhanced status code of a reply, or one derived from its
// basic code.
func statusOf(se *smtp.SMTPError) string {
	e := se.EnhancedCode
	if e[0] == 2 || e[0] == 4 || e[0] == 5 {
		if e != smtp.NoEnhancedCode && e[0]*100 <= se.Code && se.Code < (e[0]+1)*100 {
			return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
		}
	}
	return fmt.Sprintf("%d.0.0", se.Code/100)
}
