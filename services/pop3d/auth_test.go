package pop3d

import (
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func plain(authzid, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authzid + "\x00" + user + "\x00" + pass))
}

func TestAuthRefusedWithoutTLS(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig()}, false)
	c := dial(t, ts.addr)
	for _, tc := range []struct{ cmd, want string }{
		{"USER alice", "-ERR [AUTH] TLS required for authentication"},
		{"PASS secret", "-ERR [AUTH] TLS required for authentication"},
		{"AUTH PLAIN " + plain("", "alice", "secret"), "-ERR [AUTH] TLS required for authentication"},
		{"AUTH PLAIN", "-ERR [AUTH] TLS required for authentication"},
		{"AUTH CRAM-MD5", "-ERR Unsupported authentication mechanism"},
		{"STAT", "-ERR Command not valid in this state"},
	} {
		c.check(tc.cmd, tc.want)
	}
	c.check("AUTH", "+OK Mechanisms follow")
	if got := c.multi(); len(got) != 0 {
		t.Errorf("AUTH lists %q before TLS, want nothing", got)
	}
	if strings.Contains(ts.logs.String(), "secret") {
		t.Error("the log holds a password")
	}
}

func TestUserPass(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.check("PASS secret", "-ERR Send USER first")
	c.check("USER", "-ERR Syntax: USER name")
	c.check("USER alice", "+OK Send PASS")
	c.check("PASS", "-ERR Syntax: PASS password")
	c.check("PASS secret", "+OK Logged in, 2 messages (125 octets)")
	c.check("USER alice", "-ERR Command not valid in this state")
	c.check("PASS secret", "-ERR Command not valid in this state")
	c.check("AUTH PLAIN", "-ERR Command not valid in this state")
	c.check("STLS", "-ERR Command not valid in this state")
	c.check("QUIT", "+OK Bye, 0 messages deleted")
	c.expectClosed()
}

func TestPasswordWithSpaces(t *testing.T) {
	be := aliceBackend()
	be.addUser("carol", " two  spaces ")
	ts := startServer(t, be, Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.check("USER carol", "+OK Send PASS")
	c.check("PASS  two  spaces ", "+OK Logged in, 0 messages (0 octets)")
}

// failRecorder records Options.AuthFailed calls.
type failRecorder struct {
	mu    sync.Mutex // protects users
	users []string
}

func (f *failRecorder) record(remote net.Addr, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, user)
}

func (f *failRecorder) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.users...)
}

func TestThreeFailuresCloseConnection(t *testing.T) {
	var fails failRecorder
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true, AuthFailed: fails.record}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "+OK Send PASS")
	c.check("PASS wrong", "-ERR [AUTH] Authentication failed")
	c.check("USER nobody", "+OK Send PASS")
	c.check("PASS secret", "-ERR [AUTH] Authentication failed")
	c.check("AUTH PLAIN "+plain("", "alice", "nope"), "-ERR [AUTH] Authentication failed")
	c.expectClosed()
	if got, want := strings.Join(fails.got(), ","), "alice,nobody,alice"; got != want {
		t.Errorf("AuthFailed got users %q, want %q", got, want)
	}
}

func TestAuthPlain(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true, AuthFailDelay: -1}, false)
	tests := []struct {
		name  string
		lines []string // sent one by one; the last reply is checked
		want  string
	}{
		{"initial response", []string{"AUTH PLAIN " + plain("", "alice", "secret")}, "+OK Logged in, 2 messages (125 octets)"},
		{"lower case", []string{"auth plain " + plain("", "alice", "secret")}, "+OK Logged in, 2 messages (125 octets)"},
		{"authzid same as user", []string{"AUTH PLAIN " + plain("alice", "alice", "secret")}, "+OK Logged in, 2 messages (125 octets)"},
		{"continuation", []string{"AUTH PLAIN", plain("", "alice", "secret")}, "+OK Logged in, 2 messages (125 octets)"},
		{"wrong password", []string{"AUTH PLAIN " + plain("", "alice", "wrong")}, "-ERR [AUTH] Authentication failed"},
		{"other authzid", []string{"AUTH PLAIN " + plain("bob", "alice", "secret")}, "-ERR [AUTH] Authentication failed"},
		{"empty initial response", []string{"AUTH PLAIN ="}, "-ERR [AUTH] Authentication failed"},
		{"empty response", []string{"AUTH PLAIN", ""}, "-ERR [AUTH] Authentication failed"},
		{"bad base64", []string{"AUTH PLAIN !!!"}, "-ERR [AUTH] Authentication failed"},
		{"bad base64 response", []string{"AUTH PLAIN", "!!!"}, "-ERR [AUTH] Authentication failed"},
		{"two fields", []string{"AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("alice\x00secret"))}, "-ERR [AUTH] Authentication failed"},
		{"empty username", []string{"AUTH PLAIN " + plain("", "", "secret")}, "-ERR [AUTH] Authentication failed"},
		{"cancelled", []string{"AUTH PLAIN", "*"}, "-ERR Authentication cancelled"},
		{"too many arguments", []string{"AUTH PLAIN a b"}, "-ERR Syntax: AUTH mechanism [initial-response]"},
		{"unknown mechanism", []string{"AUTH LOGIN"}, "-ERR Unsupported authentication mechanism"},
		{"long response", []string{"AUTH PLAIN", strings.Repeat("A", 5000)}, "-ERR Line too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			var got string
			for i, l := range tc.lines {
				got = c.cmd(l)
				if i < len(tc.lines)-1 && got != "+ " {
					t.Fatalf("%q: got %q, want the empty challenge %q", l, got, "+ ")
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			bye := "+OK Bye"
			if strings.HasPrefix(tc.want, "+OK") {
				bye = "+OK Bye, 0 messages deleted"
			}
			c.check("QUIT", bye)
		})
	}
}

func TestAuthListsPlain(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.check("AUTH", "+OK Mechanisms follow")
	if got := strings.Join(c.multi(), ","); got != "PLAIN" {
		t.Errorf("AUTH lists %q, want PLAIN", got)
	}
}

func TestInUse(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true}, false)
	c1 := dial(t, ts.addr)
	c1.login()
	c2 := dial(t, ts.addr)
	c2.check("USER alice", "+OK Send PASS")
	c2.check("PASS secret", "-ERR [IN-USE] Maildrop is locked by another POP3 session")
	c1.check("QUIT", "+OK Bye, 0 messages deleted")
	c1.expectClosed()
	c2.login() // the lock is gone once the first session has ended
}

func TestLoginBackendError(t *testing.T) {
	be := aliceBackend()
	be.loginErr = errors.New("badger: disk on fire at /perm/mail")
	var fails failRecorder
	ts := startServer(t, be, Options{InsecureAuth: true, AuthFailed: fails.record}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "+OK Send PASS")
	c.check("PASS secret", "-ERR [SYS/TEMP] Temporary server error, try again later")
	if !strings.Contains(ts.logs.String(), "disk on fire") {
		t.Errorf("the log lacks the backend error:\n%s", ts.logs.String())
	}
	if got := fails.got(); len(got) != 0 {
		t.Errorf("AuthFailed called for %q on a backend error", got)
	}
}

func TestInvalidUIDFromBackend(t *testing.T) {
	be := newMemBackend()
	be.addUser("alice", "secret", msg1)
	be.users["alice"].msgs[0].uid = "bad uid\r\n"
	ts := startServer(t, be, Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "+OK Send PASS")
	c.check("PASS secret", "-ERR [SYS/TEMP] Temporary server error, try again later")
	c.check("QUIT", "+OK Bye")
	c.expectClosed()
	if closes, _ := be.counts(); closes != 1 {
		t.Errorf("maildrop closed %d times, want 1", closes)
	}
}

func TestAuthFailDelay(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true, AuthFailDelay: 50 * time.Millisecond}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "+OK Send PASS")
	start := time.Now()
	c.check("PASS wrong", "-ERR [AUTH] Authentication failed")
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("failed login answered after %v, want at least 50ms", d)
	}
}
