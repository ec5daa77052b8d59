package imapd

import (
	"strings"
	"testing"
	"time"
)

// FuzzCommands sends arbitrary bytes as commands to a logged-in session
// with INBOX selected. Whatever they are, the server must not panic (go-imap
// recovers and logs a panic; the log recorder catches it) nor log an
// internal error.
func FuzzCommands(f *testing.F) {
	for _, seed := range []string{
		"a1 NOOP",
		"a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)] BINARY.SIZE[1] BODYSTRUCTURE ENVELOPE)",
		"a1 UID FETCH 1:* (BODY[1.2.3.MIME]<0.10> BINARY.PEEK[2]<1.1>)",
		"a1 SEARCH RETURN (SAVE MIN) OR FROM alice NOT (SENTON 1-Jan-2020 LARGER 10)\r\na2 FETCH $ FLAGS",
		"a1 STORE 1:* +FLAGS.SILENT (\\Deleted $x)\r\na2 EXPUNGE",
		"a1 COPY 1:* Archive\r\na2 MOVE * Junk\r\na3 UID EXPUNGE 1:*",
		"a1 LIST (SUBSCRIBED RECURSIVEMATCH SPECIAL-USE) \"\" (\"*\" \"%\") RETURN (CHILDREN STATUS (MESSAGES SIZE APPENDLIMIT))",
		"a1 CREATE x/y (USE (\\Junk))\r\na2 RENAME x z\r\na3 DELETE z/y",
		"a1 APPEND INBOX (\\Seen) \" 1-Jan-2020 00:00:00 +0000\" {5+}\r\nHello",
		"a1 IDLE\r\nDONE",
		"a1 ENABLE IMAP4rev2 UTF8=ACCEPT\r\na2 SEARCH ALL",
		"a1 UNAUTHENTICATE\r\na2 SELECT INBOX",
		"a1 NAMESPACE\r\na2 LSUB \"\" *",
		// Regressions: each of these crashed or wedged the server once.
		"a1 STATUS INBOX (DELETED-STORAGE)",                                       // go-imap dereferenced a nil count
		"a1 LIST \"\" * RETURN (STATUS (DELETED-STORAGE))",                        // the same through LIST-STATUS
		"a1 DELETE INBOX\r\na2 SELECT Sent\r\na3 DELETE Sent\r\na4 FETCH 1 FLAGS", // nil view after DELETE of the selected mailbox
		"a1 EXAMINE INBOX\r\na2 CLOSE\r\na3 NOOP",
		"a1 IDLE\r\nnot done\r\na2 NOOP",
		"a1 COPY 99 Archive",
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	e.deliver(f, alice, msgPlain)
	e.deliver(f, alice, msgMultipart)
	e.deliver(f, alice, msgUnknownCTE)
	f.Fuzz(func(t *testing.T, cmds string) {
		c := e.selected(t, alice, "INBOX")
		c.nc.SetWriteDeadline(time.Now().Add(wait))
		if _, err := c.nc.Write([]byte(cmds + "\r\nzz9 NOOP\r\n")); err != nil {
			return // the server may hang up on garbage
		}
		drain(c)
		c.nc.Close()
		if bad := e.logs.bad(); len(bad) > 0 {
			t.Fatalf("input %q: server logged:\n%s", cmds, strings.Join(bad, "\n"))
		}
	})
}

// drain reads until the NOOP sent after the fuzzed input is answered,
// the connection ends or nothing comes for a while (an unfinished
// literal, say).
func drain(c *client) {
	for {
		c.nc.SetReadDeadline(time.Now().Add(time.Second))
		line, err := c.r.ReadString('\n')
		if err != nil || strings.HasPrefix(line, "zz9 ") {
			return
		}
	}
}
