package imapd

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

// secure is a setter for newEnv: logins need TLS, as in production.
func secure(o *Options) { o.InsecureAuth = false }

// caps returns the capabilities of a "* CAPABILITY" line or an
// "OK [CAPABILITY ...]" text.
func caps(line string) []string {
	line = strings.TrimPrefix(line, "* ")
	if i := strings.Index(line, "CAPABILITY "); i >= 0 {
		line = line[i+len("CAPABILITY "):]
	}
	line, _, _ = strings.Cut(line, "]")
	return strings.Fields(line)
}

func (c *client) capabilities() []string {
	c.t.Helper()
	lines := only(c.ok("CAPABILITY"), "* CAPABILITY ")
	if len(lines) != 1 {
		c.t.Fatalf("CAPABILITY: got %q, want one * CAPABILITY line", lines)
	}
	return caps(lines[0])
}

// startTLS upgrades the connection with STARTTLS.
func (c *client) startTLS(conf *tls.Config) {
	c.t.Helper()
	c.ok("STARTTLS")
	tc := tls.Client(c.nc, conf)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake after STARTTLS: %v", err)
	}
	c.nc, c.r = tc, bufio.NewReader(tc)
}

func TestCapabilitiesByState(t *testing.T) {
	e := newEnv(t, secure)
	base := []string{"IMAP4rev2", "IMAP4rev1", "SASL-IR", "LITERAL-"}
	tests := []struct {
		name       string
		connect    func() *client
		want, dont []string
	}{
		{"plain before STARTTLS", func() *client { return e.dial(t) },
			append(base, "STARTTLS", "LOGINDISABLED"), []string{"AUTH=PLAIN", "IDLE", "MOVE"}},
		{"after STARTTLS", func() *client { c := e.dial(t); c.startTLS(e.client); return c },
			append(base, "AUTH=PLAIN"), []string{"STARTTLS", "LOGINDISABLED"}},
		{"implicit TLS", func() *client { return e.dialTLS(t) },
			append(base, "AUTH=PLAIN"), []string{"STARTTLS", "LOGINDISABLED"}},
		{"logged in", func() *client {
			c := e.dialTLS(t)
			c.ok("LOGIN " + alice + " " + quote(password))
			return c
		}, append(base, advertised()...), []string{"STARTTLS", "AUTH=PLAIN", "LOGINDISABLED", "LITERAL+"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.connect().capabilities()
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("got %v, want %s in it", got, w)
				}
			}
			for _, d := range tt.dont {
				if slices.Contains(got, d) {
					t.Errorf("got %v, want no %s", got, d)
				}
			}
		})
	}
}

// advertised lists what an authenticated client is offered besides the
// base capabilities; TestEveryCapabilityWorks has a probe for each.
func advertised() []string {
	return []string{
		"UNSELECT", "ENABLE", "IDLE", "UTF8=ACCEPT", "NAMESPACE", "UIDPLUS", "ESEARCH",
		"SEARCHRES", "LIST-EXTENDED", "LIST-STATUS", "MOVE", "STATUS=SIZE", "BINARY",
		"CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "UNAUTHENTICATE",
		"APPENDLIMIT=52428800",
	}
}

func TestLoginRefusedBeforeTLS(t *testing.T) {
	e := newEnv(t, secure)
	c := e.dial(t)
	tests := []struct{ cmd, want string }{
		{"LOGIN " + alice + " " + quote(password), "NO [PRIVACYREQUIRED]"},
		{"AUTHENTICATE PLAIN " + plain(alice, password), "NO [PRIVACYREQUIRED]"},
		{"SELECT INBOX", "BAD"},
	}
	for _, tt := range tests {
		r := c.do(tt.cmd)
		if got := r.status + " " + r.text; !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %q, want %q", redact(tt.cmd), got, tt.want)
		}
	}
	if f := e.authFailures(); len(f) != 0 {
		t.Errorf("AuthFailed calls: got %q, want none (no password was checked)", f)
	}
	// The same connection logs in once it has TLS.
	c.startTLS(e.client)
	c.ok("LOGIN " + alice + " " + quote(password))
	c.ok("SELECT INBOX")
}

func TestImplicitTLS(t *testing.T) {
	e := newEnv(t, secure)
	c := e.dialTLS(t)
	if r := c.do("STARTTLS"); r.status != "BAD" {
		t.Errorf("STARTTLS over TLS: got %s %s, want BAD", r.status, r.text)
	}
	r := c.expect("OK", "LOGIN "+alice+" "+quote(password))
	if !slices.Contains(caps(r.text), "IDLE") {
		t.Errorf("LOGIN reply: got %q, want the new CAPABILITY in it", r.text)
	}
	c.ok("SELECT INBOX")
	c.ok("LOGOUT")
}

func TestStartTLSWithPipelinedCommand(t *testing.T) {
	// A command sent in clear right after STARTTLS must not be run over
	// TLS (the STARTTLS command injection of CVE-2011-0411 and friends).
	e := newEnv(t, secure)
	c := e.dial(t)
	c.send("a1 STARTTLS\r\na2 LOGIN " + alice + " " + quote(password))
	if got := c.readLine(); !strings.HasPrefix(got, "a1 OK") {
		t.Fatalf("STARTTLS: got %q, want a1 OK", got)
	}
	tc := tls.Client(c.nc, e.client)
	if err := tc.Handshake(); err == nil {
		tc.Close()
		t.Fatal("TLS handshake after injected plaintext: got success, want failure")
	}
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestAuthenticatePlain(t *testing.T) {
	e := newEnv(t, secure)
	t.Run("initial response", func(t *testing.T) {
		c := e.dialTLS(t)
		c.ok("AUTHENTICATE PLAIN " + plain(alice, password))
		c.ok("SELECT INBOX")
	})
	t.Run("continuation", func(t *testing.T) {
		c := e.dialTLS(t)
		c.send("a1 AUTHENTICATE PLAIN")
		// go-imap sends the empty challenge as "=" (RFC 4959's spelling
		// of an empty initial response); clients decode it as empty.
		if got := c.readLine(); !strings.HasPrefix(got, "+") {
			t.Fatalf("got %q, want a continuation", got)
		}
		c.send(plain(bob, password))
		if r := c.readReply("a1"); r.status != "OK" {
			t.Fatalf("got %s %s, want OK", r.status, r.text)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := e.dialTLS(t)
		r := c.expect("NO", "AUTHENTICATE PLAIN "+plain(alice, "wrong password"))
		if !strings.HasPrefix(r.text, "[AUTHENTICATIONFAILED]") {
			t.Errorf("got %q, want [AUTHENTICATIONFAILED]", r.text)
		}
		if f := e.authFailures(); !slices.Equal(f, []string{alice}) {
			t.Errorf("AuthFailed: got %q, want [%s]", f, alice)
		}
	})
	t.Run("other mechanism", func(t *testing.T) {
		c := e.dialTLS(t)
		c.expect("NO", "AUTHENTICATE CRAM-MD5")
	})
}

func TestLoginFailuresCloseTheConnection(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	users := []string{alice, "nobody@example.org", bob}
	for i, u := range users[:2] {
		r := c.expect("NO", "LOGIN "+u+" wrong-password")
		if !strings.HasPrefix(r.text, "[AUTHENTICATIONFAILED]") {
			t.Errorf("failure %d: got %q, want NO [AUTHENTICATIONFAILED]", i+1, r.text)
		}
	}
	c.send("a9 LOGIN " + bob + " wrong-password")
	if got := c.readLine(); !strings.HasPrefix(got, "* BYE") {
		t.Errorf("third failure: got %q, want * BYE", got)
	}
	if !c.eof() {
		t.Error("third failure: connection still open, want it closed")
	}
	if f := e.authFailures(); !slices.Equal(f, users) {
		t.Errorf("AuthFailed: got %q, want %q", f, users)
	}
	// Others are not affected.
	e.login(t, alice).ok("NOOP")
}

func TestLoginFailuresViaAuthenticate(t *testing.T) {
	e := newEnv(t, secure)
	c := e.dialTLS(t)
	for range 2 {
		c.expect("NO", "AUTHENTICATE PLAIN "+plain(alice, "nope nope"))
	}
	c.send("a9 AUTHENTICATE PLAIN " + plain(alice, "nope nope"))
	if got := c.readLine(); !strings.HasPrefix(got, "* BYE") {
		t.Errorf("third failure: got %q, want * BYE", got)
	}
	if !c.eof() {
		t.Error("third failure: connection still open, want it closed")
	}
	if n := len(e.authFailures()); n != 3 {
		t.Errorf("AuthFailed calls: got %d, want 3", n)
	}
}

func TestUnauthenticate(t *testing.T) {
	e := newEnv(t)
	c := e.selected(t, alice, "INBOX")
	c.ok("ENABLE IMAP4rev2")
	c.ok("UNAUTHENTICATE")
	c.expect("BAD", "SELECT INBOX")
	c.expect("BAD", "FETCH 1 FLAGS")
	c.ok("LOGIN " + bob + " " + quote(password))
	c.ok("SELECT INBOX")
	// ENABLE does not survive UNAUTHENTICATE (RFC 8437 §3): plain SEARCH.
	mustHave(t, "SEARCH", c.ok("SEARCH ALL"), "* SEARCH")
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	c := e.selected(t, alice, "INBOX")
	r := c.ok("LOGOUT")
	mustHave(t, "LOGOUT", r, "* BYE")
	if !c.eof() {
		t.Error("connection still open after LOGOUT")
	}
}
