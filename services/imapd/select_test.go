package imapd

import (
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	e.deliver(t, alice, msgNested)
	e.deliver(t, alice, msgMultipart)
	c := e.login(t, alice)
	c.ok("SELECT INBOX")
	c.ok("STORE 1 +FLAGS (\\Seen)")
	c.ok("UNSELECT")
	common := []string{
		"* 3 EXISTS",
		"* OK [UIDVALIDITY ",
		"* OK [UIDNEXT 4]",
		`* FLAGS (\Seen \Answered \Flagged \Deleted \Draft)`,
	}
	tests := []struct {
		name, enable, cmd, tagged string
		want, dont                []string
	}{
		{"IMAP4rev1 SELECT", "", "SELECT INBOX", "[READ-WRITE]",
			append(common, "* 0 RECENT", "* OK [UNSEEN 2]", `* OK [PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft \*)]`),
			[]string{"* LIST"}},
		{"IMAP4rev1 EXAMINE", "", "EXAMINE INBOX", "[READ-ONLY]",
			append(common, "* OK [PERMANENTFLAGS ()]"), nil},
		{"IMAP4rev2 SELECT", "ENABLE IMAP4rev2", "SELECT inbox", "[READ-WRITE]",
			append(common, `* LIST (\HasNoChildren) "/" INBOX`),
			[]string{"RECENT", "[UNSEEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.login(t, alice)
			if tt.enable != "" {
				c.ok(tt.enable)
			}
			r := c.expect("OK", tt.cmd)
			if !strings.HasPrefix(r.text, tt.tagged) {
				t.Errorf("%s: got OK %s, want OK %s", tt.cmd, r.text, tt.tagged)
			}
			mustHave(t, tt.cmd, r.lines, tt.want...)
			mustNotHave(t, tt.cmd, r.lines, tt.dont...)
		})
	}
}

func TestSelectErrors(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.run(t, []step{
		{cmd: "SELECT nowhere", status: "NO", code: "NONEXISTENT"},
		{cmd: "FETCH 1 FLAGS", status: "BAD"}, // not selected after a failed SELECT
		{cmd: "SELECT INBOX", status: "OK"},
		{cmd: "SELECT Sent", status: "OK", lines: []string{"* OK [CLOSED]"}},
		{cmd: "SELECT nowhere", status: "NO"},
		{cmd: "FETCH 1 FLAGS", status: "BAD"},
		{cmd: "EXAMINE", status: "BAD"},
		{cmd: "CLOSE", status: "BAD"},
		{cmd: "UNSELECT", status: "BAD"},
	})
}

func TestExamineIsReadOnly(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	e.deliver(t, alice, msgNested)
	c := e.selected(t, alice, "INBOX")
	c.ok("STORE 2 +FLAGS (\\Deleted)")
	c.ok("EXAMINE INBOX")
	c.run(t, []step{
		{cmd: "STORE 1 +FLAGS (\\Flagged)", status: "NO"},
		{cmd: "EXPUNGE", status: "NO"},
		{cmd: "UID EXPUNGE 2", status: "NO"},
		{cmd: "MOVE 1 Archive", status: "NO"},
		{cmd: "COPY 1 Archive", status: "OK"}, // reads the source only
		{cmd: "FETCH 1 BODY[TEXT]", status: "OK"},
		{cmd: "FETCH 1 RFC822", status: "OK"},
		{cmd: "FETCH 1 FLAGS", status: "OK", lines: []string{"* 1 FETCH (FLAGS ())"}},
	})
	r := c.do("FETCH 1 BODY[TEXT]")
	mustNotHave(t, "FETCH in EXAMINE", r.lines, `\Seen`)
	// CLOSE in EXAMINE mode expunges nothing and succeeds (RFC 3501 §6.4.2).
	c.ok("CLOSE")
	mustHave(t, "STATUS", c.ok("STATUS INBOX (MESSAGES DELETED UNSEEN)"), "(MESSAGES 2 UNSEEN 2 DELETED 1)")
}

func TestCloseExpungesSilently(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	e.deliver(t, alice, msgNested)
	c := e.selected(t, alice, "INBOX")
	c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	if lines := c.ok("CLOSE"); len(lines) != 0 {
		t.Errorf("CLOSE: got %q, want no untagged replies", lines)
	}
	c.expect("BAD", "FETCH 1 FLAGS")
	mustHave(t, "STATUS", c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 1")
}

func TestUnselectKeepsDeleted(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	c := e.selected(t, alice, "INBOX")
	c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	if lines := c.ok("UNSELECT"); len(lines) != 0 {
		t.Errorf("UNSELECT: got %q, want nothing", lines)
	}
	mustHave(t, "STATUS", c.ok("STATUS INBOX (MESSAGES DELETED)"), "(MESSAGES 1 DELETED 1)")
}

func TestDeleteSelectedMailbox(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.fresh("doomed", 2)
	c.ok("DELETE doomed")
	c.run(t, []step{
		{cmd: "FETCH 1 FLAGS", status: "NO", code: "NONEXISTENT"},
		{cmd: "STORE 1 +FLAGS (\\Seen)", status: "NO", code: "NONEXISTENT"},
		{cmd: "SEARCH ALL", status: "NO", code: "NONEXISTENT"},
		{cmd: "COPY 1 INBOX", status: "NO", code: "NONEXISTENT"},
		{cmd: "MOVE 1 INBOX", status: "NO", code: "NONEXISTENT"},
		{cmd: "EXPUNGE", status: "NO", code: "NONEXISTENT"},
		{cmd: "NOOP", status: "OK"},
		{cmd: "CLOSE", status: "OK"},
		{cmd: "SELECT INBOX", status: "OK"},
	})
}

func TestSelectedMailboxDeletedByOtherSession(t *testing.T) {
	e := newEnv(t)
	a := e.login(t, alice)
	a.fresh("shared", 2)
	b := e.login(t, alice)
	b.ok("DELETE shared")
	lines := a.ok("NOOP")
	if got := only(lines, "* "); len(got) != 2 || !has(got, "* 1 EXPUNGE") {
		t.Errorf("NOOP after another session deleted the mailbox: got %q, want two * 1 EXPUNGE", got)
	}
	a.ok("FETCH 1:* FLAGS")
	a.expect("NO", "STORE 1:* +FLAGS (\\Seen)")
	a.ok("SELECT INBOX")
}
