package pop3d

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
)

// startTLS runs the client side of the handshake after "+OK" to STLS.
func (c *client) startTLS() *client {
	c.t.Helper()
	if n := c.r.Buffered(); n > 0 {
		c.t.Fatalf("%d bytes after the STLS reply", n)
	}
	tc := tls.Client(c.conn, clientTLSConfig())
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	return &client{t: c.t, conn: tc, r: bufio.NewReader(tc)}
}

func TestSTLSThenAuth(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig()}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "-ERR [AUTH] TLS required for authentication")
	c.check("STLS x", "-ERR Syntax: STLS")
	c.check("STLS", "+OK Begin TLS negotiation")
	c = c.startTLS()
	c.check("STLS", "-ERR Already using TLS")
	c.check("AUTH PLAIN", "+ ")
	c.check(plain("", "alice", "secret"), "+OK Logged in, 2 messages (125 octets)")
	c.check("RETR 1", "+OK 82 octets")
	c.multi()
	c.check("QUIT", "+OK Bye, 0 messages deleted")
	c.expectClosed()
}

func TestSTLSForgetsUser(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig(), InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "+OK Send PASS")
	c.check("STLS", "+OK Begin TLS negotiation")
	c = c.startTLS()
	c.check("PASS secret", "-ERR Send USER first")
}

func TestSTLSDiscardsPipelinedPlaintext(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig()}, false)
	c := dial(t, ts.addr)
	// A man in the middle appends commands to the client's STLS; the
	// server must not run them inside the TLS session.
	c.send("STLS\r\nUSER mallory\r\n")
	c.expect("+OK Begin TLS negotiation")
	c = c.startTLS()
	c.check("PASS secret", "-ERR Send USER first")
	if !strings.Contains(ts.logs.String(), "discarding plaintext") {
		t.Error("the log does not mention the discarded plaintext")
	}
}

func TestSTLSUnavailable(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{}, false)
	c := dial(t, ts.addr)
	c.check("STLS", "-ERR TLS not available")
	c.check("CAPA", "+OK Capability list follows")
	for _, l := range c.multi() {
		if l == "STLS" || l == "USER" {
			t.Errorf("CAPA offers %s without TLS", l)
		}
	}
}

func TestSTLSBadHandshake(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig()}, false)
	c := dial(t, ts.addr)
	c.check("STLS", "+OK Begin TLS negotiation")
	c.send("this is not a TLS ClientHello\r\n")
	c.r.ReadString(0) // whatever comes (a TLS alert), then EOF
	c = dial(t, ts.addr)
	c.check("NOOP", "-ERR Command not valid in this state")
}

func TestImplicitTLS(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig()}, true)
	c := dialTLS(t, ts.addr)
	c.check("CAPA", "+OK Capability list follows")
	if got, want := strings.Join(c.multi(), ","), "USER,SASL PLAIN,AUTH-RESP-CODE,TOP,UIDL,RESP-CODES,PIPELINING"; got != want {
		t.Errorf("CAPA: got %q, want %q", got, want)
	}
	c.check("STLS", "-ERR Already using TLS")
	c.check("AUTH PLAIN "+plain("", "alice", "secret"), "+OK Logged in, 2 messages (125 octets)")
	c.check("DELE 2", "+OK Message 2 deleted")
	c.check("QUIT", "+OK Bye, 1 messages deleted")
}

func TestServeTLSNeedsConfig(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(aliceBackend(), Options{})
	defer srv.Close()
	if err := srv.ServeTLS(l); err == nil {
		t.Error("ServeTLS without TLSConfig succeeded")
	}
}
