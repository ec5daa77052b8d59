package pop3d

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// loggedIn returns a client logged in as alice on a fresh server.
func loggedIn(t *testing.T, be *memBackend) (*testServer, *client) {
	t.Helper()
	ts := startServer(t, be, Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.login()
	return ts, c
}

func TestStatListUidl(t *testing.T) {
	_, c := loggedIn(t, aliceBackend())
	c.check("STAT", "+OK 2 125")
	c.check("LIST", "+OK 2 messages (125 octets)")
	if got, want := c.multi(), []string{"1 82", "2 43"}; !slices.Equal(got, want) {
		t.Errorf("LIST: got %q, want %q", got, want)
	}
	c.check("UIDL", "+OK Unique-ids follow")
	if got, want := c.multi(), []string{"1 uid1", "2 uid2"}; !slices.Equal(got, want) {
		t.Errorf("UIDL: got %q, want %q", got, want)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"LIST 2", "+OK 2 43"},
		{"list 1", "+OK 1 82"},
		{"LIST 01", "+OK 1 82"},
		{"UIDL 2", "+OK 2 uid2"},
		{"LIST 0", "-ERR No such message"},
		{"LIST 3", "-ERR No such message"},
		{"LIST 99999999999999999999999", "-ERR No such message"},
		{"LIST -1", "-ERR Invalid message number"},
		{"LIST +1", "-ERR Invalid message number"},
		{"LIST one", "-ERR Invalid message number"},
		{"LIST 1 2", "-ERR Syntax: LIST [msg]"},
		{"UIDL x", "-ERR Invalid message number"},
		{"UIDL 1 2", "-ERR Syntax: UIDL [msg]"},
		{"STAT 1", "-ERR Syntax: STAT"},
		{"NOOP", "+OK"},
		{"NOOP 1", "-ERR Syntax: NOOP"},
		{"APOP alice 0123", "-ERR Unknown command"},
		{"XYZZ", "-ERR Unknown command"},
	} {
		c.check(tc.cmd, tc.want)
	}
}

func TestDeleRsetQuit(t *testing.T) {
	be := aliceBackend()
	_, c := loggedIn(t, be)
	c.check("DELE 1", "+OK Message 1 deleted")
	c.check("DELE 1", "-ERR No such message")
	c.check("DELE", "-ERR Syntax: DELE msg")
	c.check("DELE x", "-ERR Invalid message number")
	c.check("STAT", "+OK 1 43")
	c.check("LIST", "+OK 1 messages (43 octets)")
	if got, want := c.multi(), []string{"2 43"}; !slices.Equal(got, want) {
		t.Errorf("LIST after DELE: got %q, want %q", got, want)
	}
	c.check("UIDL", "+OK Unique-ids follow")
	if got, want := c.multi(), []string{"2 uid2"}; !slices.Equal(got, want) {
		t.Errorf("UIDL after DELE: got %q, want %q", got, want)
	}
	for _, cmd := range []string{"LIST 1", "UIDL 1", "RETR 1", "TOP 1 0"} {
		c.check(cmd, "-ERR No such message")
	}
	c.check("RSET", "+OK Maildrop has 2 messages (125 octets)")
	c.check("RSET 1", "-ERR Syntax: RSET")
	c.check("LIST 1", "+OK 1 82")
	c.check("DELE 2", "+OK Message 2 deleted")
	c.check("QUIT", "+OK Bye, 1 messages deleted")
	c.expectClosed()
	if got, want := be.uids("alice"), []string{"uid1"}; !slices.Equal(got, want) {
		t.Errorf("after QUIT the INBOX holds %q, want %q", got, want)
	}
	waitFor(t, "maildrop closed", func() bool { return !be.isLocked("alice") })
}

func TestCommitFails(t *testing.T) {
	be := aliceBackend()
	be.commitErr = errors.New("disk full")
	ts, c := loggedIn(t, be)
	c.check("DELE 1", "+OK Message 1 deleted")
	c.check("QUIT", "-ERR [SYS/TEMP] Deleted messages were not removed")
	c.expectClosed()
	if got := be.uids("alice"); len(got) != 2 {
		t.Errorf("after a failed commit the INBOX holds %q, want both messages", got)
	}
	waitFor(t, "maildrop closed", func() bool { return !be.isLocked("alice") })
	if !strings.Contains(ts.logs.String(), "disk full") {
		t.Error("the log lacks the commit error")
	}
}

func TestDroppedConnectionCommitsNothing(t *testing.T) {
	be := aliceBackend()
	_, c := loggedIn(t, be)
	c.check("DELE 1", "+OK Message 1 deleted")
	c.conn.Close()
	waitFor(t, "maildrop closed", func() bool { return !be.isLocked("alice") })
	if closes, commits := be.counts(); closes != 1 || commits != 0 {
		t.Errorf("got %d Close and %d Commit calls, want 1 and 0", closes, commits)
	}
	if got := be.uids("alice"); len(got) != 2 {
		t.Errorf("the INBOX holds %q, want both messages", got)
	}
}

func TestRetr(t *testing.T) {
	_, c := loggedIn(t, aliceBackend())
	c.check("RETR 1", "+OK 82 octets")
	want := []string{"From: bob@example.org", "Subject: one", "", "first line", "..starts with a dot", "last line"}
	if got := c.multi(); !slices.Equal(got, want) {
		t.Errorf("RETR 1: got %q, want %q", got, want)
	}
	c.check("RETR 2", "+OK 43 octets")
	want = []string{"Subject: two", "", "bare LF", "no final newline"}
	if got := c.multi(); !slices.Equal(got, want) {
		t.Errorf("RETR 2: got %q, want %q", got, want)
	}
	c.check("RETR", "-ERR Syntax: RETR msg")
	c.check("RETR 3", "-ERR No such message")
	c.check("RETR 1 2", "-ERR Syntax: RETR msg")
}

func TestTop(t *testing.T) {
	_, c := loggedIn(t, aliceBackend())
	head := []string{"From: bob@example.org", "Subject: one", ""}
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"TOP 1 0", head},
		{"TOP 1 1", append(head[:3:3], "first line")},
		{"TOP 1 2", append(head[:3:3], "first line", "..starts with a dot")},
		{"TOP 1 3", append(head[:3:3], "first line", "..starts with a dot", "last line")},
		{"TOP 1 99", append(head[:3:3], "first line", "..starts with a dot", "last line")},
		{"TOP 1 99999999999999999999999", append(head[:3:3], "first line", "..starts with a dot", "last line")},
		{"TOP 2 1", []string{"Subject: two", "", "bare LF"}},
	} {
		c.check(tc.cmd, "+OK Message follows")
		if got := c.multi(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
	for _, tc := range []struct{ cmd, want string }{
		{"TOP 1", "-ERR Syntax: TOP msg n"},
		{"TOP 1 2 3", "-ERR Syntax: TOP msg n"},
		{"TOP 1 -1", "-ERR Invalid number of lines"},
		{"TOP x 1", "-ERR Invalid message number"},
		{"TOP 3 1", "-ERR No such message"},
	} {
		c.check(tc.cmd, tc.want)
	}
}

func TestRetrExpungedByIMAP(t *testing.T) {
	be := aliceBackend()
	_, c := loggedIn(t, be)
	be.expunge("alice", "uid1")
	c.check("RETR 1", "-ERR Message was removed by another session")
	c.check("TOP 1 0", "-ERR Message was removed by another session")
	c.check("RETR 2", "+OK 43 octets")
	c.multi()
}

func TestOpenFails(t *testing.T) {
	be := aliceBackend()
	be.openErr = errors.New("read /perm/mail/blob: I/O error")
	ts, c := loggedIn(t, be)
	c.check("RETR 1", "-ERR [SYS/TEMP] Temporary server error, try again later")
	c.check("NOOP", "+OK")
	if !strings.Contains(ts.logs.String(), "I/O error") {
		t.Error("the log lacks the backend error")
	}
}

func TestPanicInBackend(t *testing.T) {
	be := aliceBackend()
	be.openHook = func(Message) { panic("boom") }
	ts, c := loggedIn(t, be)
	c.check("RETR 1", "-ERR [SYS/TEMP] Temporary server error, try again later")
	c.expectClosed()
	waitFor(t, "maildrop closed", func() bool { return !be.isLocked("alice") })
	if logs := ts.logs.String(); !strings.Contains(logs, "boom") || !strings.Contains(logs, "goroutine") {
		t.Errorf("the log lacks the panic and its stack:\n%s", logs)
	}
	be.mu.Lock()
	be.openHook = nil
	be.mu.Unlock()
	c = dial(t, ts.addr) // the server still serves
	c.login()
}

func TestMalformedCommands(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	for _, tc := range []struct{ line, want string }{
		{"", "-ERR Empty command"},
		{"NOOPS", "-ERR Malformed command keyword"},
		{"N0OP", "-ERR Malformed command keyword"},
		{" USER alice", "-ERR Malformed command keyword"},
		{"USER al\x00ice", "-ERR Invalid character in command"},
		{"USER\talice", "-ERR Invalid character in command"},
		{"USER " + strings.Repeat("a", 250), "-ERR Command line too long"},
		{"USER " + strings.Repeat("a", 5000), "-ERR Line too long"},
		{"FOO", "-ERR Unknown command"},
		{"NOOP", "-ERR Command not valid in this state"},
		{"RSET", "-ERR Command not valid in this state"},
		{"USER alice", "+OK Send PASS"}, // the session survived all that
	} {
		c.check(tc.line, tc.want)
	}
	c.check("USER "+strings.Repeat("a", 248), "+OK Send PASS") // 255 octets with CRLF
	c.send("NOOP\n")                                           // bare LF is accepted
	c.expect("-ERR Command not valid in this state")
}

func TestPipelining(t *testing.T) {
	_, c := loggedIn(t, aliceBackend())
	c.send("STAT\r\nLIST 1\r\nDELE 1\r\nRETR 2\r\nUIDL\r\nRSET\r\nNOOP\r\nQUIT\r\n")
	c.expect("+OK 2 125")
	c.expect("+OK 1 82")
	c.expect("+OK Message 1 deleted")
	c.expect("+OK 43 octets")
	if got := c.multi(); len(got) != 4 {
		t.Errorf("RETR 2: got %q", got)
	}
	c.expect("+OK Unique-ids follow")
	if got, want := c.multi(), []string{"2 uid2"}; !slices.Equal(got, want) {
		t.Errorf("UIDL: got %q, want %q", got, want)
	}
	c.expect("+OK Maildrop has 2 messages (125 octets)")
	c.expect("+OK")
	c.expect("+OK Bye, 0 messages deleted")
	c.expectClosed()
}

func TestPipelinedLogin(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.send("CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
	c.expect("+OK Capability list follows")
	c.multi()
	c.expect("+OK Send PASS")
	c.expect("+OK Logged in, 2 messages (125 octets)")
	c.expect("+OK 2 125")
	c.expect("+OK Bye, 0 messages deleted")
}

func TestCapa(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{TLSConfig: serverTLSConfig()}, false)
	insecure := startServer(t, aliceBackend(), Options{InsecureAuth: true}, false)
	capa := func(c *client) string {
		c.check("CAPA", "+OK Capability list follows")
		return strings.Join(c.multi(), ",")
	}
	const common = "TOP,UIDL,RESP-CODES,PIPELINING"
	c := dial(t, ts.addr)
	if got, want := capa(c), "STLS,AUTH-RESP-CODE,"+common; got != want {
		t.Errorf("before TLS: got %q, want %q", got, want)
	}
	c.check("CAPA x", "-ERR Syntax: CAPA")
	c.check("STLS", "+OK Begin TLS negotiation")
	c = c.startTLS()
	if got, want := capa(c), "USER,SASL PLAIN,AUTH-RESP-CODE,"+common; got != want {
		t.Errorf("after STLS: got %q, want %q", got, want)
	}
	c.login()
	if got, want := capa(c), common; got != want {
		t.Errorf("after login: got %q, want %q", got, want)
	}
	c = dial(t, insecure.addr)
	if got, want := capa(c), "USER,SASL PLAIN,AUTH-RESP-CODE,"+common; got != want {
		t.Errorf("InsecureAuth without TLS: got %q, want %q", got, want)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
