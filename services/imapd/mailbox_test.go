package imapd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// step is one command of a table test and what its reply must be.
type step struct {
	cmd    string
	status string   // OK, NO or BAD; !OK for NO or BAD
	code   string   // response code the tagged reply starts with, if any
	lines  []string // substrings of untagged lines that must appear
}

// run runs the steps in order on c.
func (c *client) run(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := c.do(s.cmd)
		if s.status == "!OK" && r.status != "OK" {
			continue
		}
		if r.status != s.status {
			t.Errorf("%s: got %s %s, want %s", s.cmd, r.status, r.text, s.status)
			continue
		}
		if s.code != "" && !strings.HasPrefix(r.text, "["+s.code+"]") {
			t.Errorf("%s: got %s %s, want [%s]", s.cmd, r.status, r.text, s.code)
		}
		mustHave(t, s.cmd, r.lines, s.lines...)
	}
}

// names lists the mailbox names of LIST or LSUB replies.
func names(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "* LIST ") && !strings.HasPrefix(l, "* LSUB ") {
			continue
		}
		_, rest, _ := strings.Cut(l, `) "/" `)
		rest, _, _ = strings.Cut(rest, " (") // extended data
		out = append(out, strings.Trim(rest, `"`))
	}
	return out
}

func (c *client) list(args string) []string {
	c.t.Helper()
	return names(c.ok("LIST " + args))
}

var defaultBoxes = []string{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.run(t, []step{
		{cmd: "CREATE work", status: "OK"},
		{cmd: "CREATE work", status: "NO", code: "ALREADYEXISTS"},
		{cmd: "CREATE projects/", status: "OK"}, // a trailing delimiter is allowed
		{cmd: "CREATE INBOX", status: "NO", code: "ALREADYEXISTS"},
		{cmd: "CREATE inbox", status: "NO", code: "ALREADYEXISTS"},
		{cmd: "CREATE a/b/c", status: "OK"}, // makes a and a/b too
		{cmd: `CREATE "bad*name"`, status: "NO", code: "CANNOT"},
		{cmd: `CREATE "bad%name"`, status: "NO", code: "CANNOT"},
		{cmd: "CREATE /leading", status: "NO", code: "CANNOT"},
		{cmd: "CREATE a//b", status: "NO", code: "CANNOT"},
		{cmd: `CREATE ""`, status: "NO"},
		{cmd: `CREATE "Caf&AOk-"`, status: "OK"},
		{cmd: `CREATE "bad&utf7"`, status: "!OK"}, // go-imap: NO [SERVERBUG]
	})
	got := c.list(`"" "*"`)
	want := append(slices.Clone(defaultBoxes), "work", "projects", "a", "a/b", "a/b/c", "Caf&AOk-")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("LIST: got %q, want %q", got, want)
	}
}

func TestCreateWithLiteralName(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.send("a1 CREATE {10}")
	if got := c.readLine(); !strings.HasPrefix(got, "+") {
		t.Fatalf("got %q, want a continuation", got)
	}
	c.send("with space")
	if r := c.readReply("a1"); r.status != "OK" {
		t.Fatalf("CREATE {10}: got %s %s", r.status, r.text)
	}
	mustHave(t, "LIST", c.ok(`LIST "" "with*"`), `"with space"`)
}

func TestCreateSpecialUse(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.run(t, []step{
		{cmd: `CREATE Outbox (USE (\Sent))`, status: "OK"},
		{cmd: `CREATE Bin (USE (\Trash))`, status: "OK"},
		{cmd: `CREATE Virtual (USE (\Flagged))`, status: "NO", code: "USEATTR"},
		{cmd: `CREATE Everything (USE (\All))`, status: "NO", code: "USEATTR"},
		{cmd: `CREATE Two (USE (\Sent \Drafts))`, status: "NO", code: "USEATTR"},
		{cmd: `CREATE Odd (USE (\Unheard))`, status: "NO", code: "USEATTR"},
		{cmd: `CREATE Odd (FOO (\Sent))`, status: "BAD"},
		{cmd: `LIST "" "*" RETURN (SPECIAL-USE)`, status: "OK",
			lines: []string{`(\HasNoChildren \Sent) "/" "Outbox"`, `(\HasNoChildren \Trash) "/" "Bin"`}},
	})
	mustNotHave(t, "LIST", c.ok(`LIST "" "*"`), "Virtual", "Everything", "Two", "Odd")
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.ok("CREATE parent/child")
	c.appendMsg("parent/child", "", plainMsg("x", "y"))
	c.run(t, []step{
		{cmd: "DELETE INBOX", status: "NO"},
		{cmd: "DELETE nowhere", status: "NO", code: "NONEXISTENT"},
		{cmd: "DELETE parent", status: "NO"}, // children first
		{cmd: "DELETE parent/child", status: "OK"},
		{cmd: "DELETE parent", status: "OK"},
		{cmd: "DELETE parent", status: "NO", code: "NONEXISTENT"},
		{cmd: "STATUS parent/child (MESSAGES)", status: "NO", code: "NONEXISTENT"},
		{cmd: "CREATE parent/child", status: "OK"},
		{cmd: "STATUS parent/child (MESSAGES)", status: "OK", lines: []string{"(MESSAGES 0)"}},
	})
}

// uidValidity returns the UIDVALIDITY of box.
func (c *client) uidValidity(box string) string {
	c.t.Helper()
	lines := c.ok("STATUS " + box + " (UIDVALIDITY)")
	m := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(strings.Join(lines, "\n"))
	if m == nil {
		c.t.Fatalf("STATUS: got %q, want UIDVALIDITY", lines)
	}
	return m[1]
}

func TestRecreatedMailboxGetsNewUIDValidity(t *testing.T) {
	// RFC 3501 §2.3.1.1: a mailbox deleted and created again must get a
	// new UIDVALIDITY, or clients show cached messages for the new UIDs.
	e := newEnv(t)
	c := e.login(t, alice)
	c.ok("CREATE again")
	c.appendMsg("again", "", plainMsg("old", "old"))
	before := c.uidValidity("again")
	c.ok("DELETE again")
	c.ok("CREATE again")
	c.appendMsg("again", "", plainMsg("new", "new"))
	if after := c.uidValidity("again"); after == before {
		t.Errorf("UIDVALIDITY after DELETE and CREATE: got %s again, want a new value (UID 1 is now another message)", after)
	}
}

func TestRename(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.ok("CREATE old/kid/grandkid")
	c.appendMsg("old/kid", "", plainMsg("kept", "kept"))
	c.ok("CREATE taken")
	c.run(t, []step{
		{cmd: "RENAME old new", status: "OK"},
		{cmd: "STATUS new/kid (MESSAGES)", status: "OK", lines: []string{"MESSAGES 1"}},
		{cmd: "STATUS old/kid (MESSAGES)", status: "NO", code: "NONEXISTENT"},
		{cmd: "RENAME new taken", status: "NO", code: "ALREADYEXISTS"},
		{cmd: "RENAME nowhere x", status: "NO", code: "NONEXISTENT"},
		{cmd: "RENAME new new/inside", status: "NO"},
		{cmd: "RENAME taken deep/er/taken", status: "OK"}, // makes parents
		{cmd: "RENAME Sent INBOX", status: "NO"},
	})
	got := c.list(`"" "*"`)
	slices.Sort(got)
	want := append(slices.Clone(defaultBoxes), "new", "new/kid", "new/kid/grandkid", "deep", "deep/er", "deep/er/taken")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("LIST after RENAME: got %q, want %q", got, want)
	}
}

func TestRenameInbox(t *testing.T) {
	// RFC 3501 §6.3.5: the messages move to the new mailbox and INBOX
	// stays, empty.
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	e.deliver(t, alice, msgNested)
	c := e.login(t, alice)
	c.ok("RENAME INBOX saved/inbox")
	mustHave(t, "STATUS", c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 0")
	mustHave(t, "STATUS", c.ok("STATUS saved/inbox (MESSAGES)"), "MESSAGES 2")
	c.ok("SELECT saved/inbox")
	mustHave(t, "FETCH", c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"), "Subject: Lunch on Friday")
}

func TestRenameSelectedMailbox(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.fresh("before", 2)
	c.ok("RENAME before after")
	mustHave(t, "FETCH", c.ok("FETCH 1:2 (UID)"), "* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)")
	c.ok("STORE 1 +FLAGS (\\Flagged)")
	mustHave(t, "STATUS", c.ok("STATUS after (MESSAGES)"), "MESSAGES 2")
}

func TestSubscriptions(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.ok("CREATE lists/go")
	c.ok("UNSUBSCRIBE Junk")
	c.ok("UNSUBSCRIBE lists")
	c.run(t, []step{
		{cmd: "SUBSCRIBE nowhere", status: "NO", code: "NONEXISTENT"},
		{cmd: "UNSUBSCRIBE nowhere", status: "NO", code: "NONEXISTENT"},
		{cmd: `LSUB "" "*"`, status: "OK", lines: []string{`* LSUB (\HasNoChildren \Subscribed) "/" "lists/go"`}},
		{cmd: `LIST "" "*" RETURN (SUBSCRIBED)`, status: "OK",
			lines: []string{`* LIST (\HasNoChildren \Junk) "/" "Junk"`, `* LIST (\HasNoChildren \Subscribed \Sent) "/" "Sent"`}},
	})
	got := names(c.ok(`LSUB "" "*"`))
	if slices.Contains(got, "Junk") || slices.Contains(got, "lists") || !slices.Contains(got, "INBOX") {
		t.Errorf("LSUB: got %q, want INBOX but neither Junk nor lists", got)
	}
	if got := names(c.ok(`LSUB "" "%"`)); slices.Contains(got, "lists/go") {
		t.Errorf(`LSUB "" "%%": got %q, want no lists/go`, got)
	}
	if got := c.list(`(SUBSCRIBED) "" "*"`); slices.Contains(got, "Junk") || !slices.Contains(got, "lists/go") {
		t.Errorf("LIST (SUBSCRIBED): got %q, want lists/go and no Junk", got)
	}
	c.ok("SUBSCRIBE Junk")
	if got := names(c.ok(`LSUB "" "Junk"`)); !slices.Equal(got, []string{"Junk"}) {
		t.Errorf("LSUB after SUBSCRIBE: got %q, want [Junk]", got)
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	c.ok("CREATE a/b/c")
	c.ok("CREATE ab")
	tests := []struct {
		args string
		want []string
	}{
		{`"" "*"`, append(slices.Clone(defaultBoxes), "a", "a/b", "a/b/c", "ab")},
		{`"" "%"`, append(slices.Clone(defaultBoxes), "a", "ab")},
		{`"" "a/%"`, []string{"a/b"}},
		{`"" "a*"`, []string{"a", "a/b", "a/b/c", "ab"}}, // not Archive: names are case-sensitive
		{`"a" "%"`, []string{"a/b"}},
		{`"a/" "*"`, []string{"a/b", "a/b/c"}},
		{`"a" "/Sent"`, []string{"Sent"}}, // a leading delimiter ignores the reference
		{`"" "inbox"`, []string{"INBOX"}},
		{`"" "InBoX"`, []string{"INBOX"}},
		{`"" "sent"`, nil}, // only INBOX is case-insensitive
		{`"" "nothing*"`, nil},
		{`"" ("Sent" "a/%")`, []string{"Sent", "a/b"}},
		{`"" {3}` + "\r\nab*", []string{"ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			var got []string
			if strings.Contains(tt.args, "{3}") {
				got = c.listLiteral(tt.args)
			} else {
				got = c.list(tt.args)
			}
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("LIST %s: got %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

// listLiteral sends a LIST whose last argument is a synchronizing literal.
func (c *client) listLiteral(args string) []string {
	c.t.Helper()
	first, rest, _ := strings.Cut(args, "\r\n")
	tag := c.next()
	c.send(tag + " LIST " + first)
	if got := c.readLine(); !strings.HasPrefix(got, "+") {
		c.t.Fatalf("got %q, want a continuation", got)
	}
	c.send(rest)
	r := c.readReply(tag)
	if r.status != "OK" {
		c.t.Fatalf("LIST %s: got %s %s", args, r.status, r.text)
	}
	return names(r.lines)
}

func TestListSpecialCases(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	c := e.login(t, alice)
	c.ok("CREATE parent/sub")
	c.ok("UNSUBSCRIBE parent")
	c.run(t, []step{
		{cmd: `LIST "" ""`, status: "OK", lines: []string{`* LIST (\Noselect) "/" ""`}},
		{cmd: `LIST (SPECIAL-USE) "" "*"`, status: "OK", lines: []string{`\Junk) "/" "Junk"`}},
		{cmd: `LIST (RECURSIVEMATCH) "" "*"`, status: "BAD"},
		{cmd: `LIST (BOGUS) "" "*"`, status: "BAD"},
		{cmd: `LIST "" "*" RETURN (BOGUS)`, status: "BAD"},
		{cmd: `LIST "" ()`, status: "BAD"},
		{cmd: `LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`, status: "OK",
			lines: []string{`* LIST (\HasChildren) "/" "parent" (CHILDINFO ("SUBSCRIBED"))`}},
		{cmd: `LIST "" "INBOX" RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE APPENDLIMIT))`, status: "OK",
			lines: []string{"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ", fmt.Sprintf("UNSEEN 1 DELETED 0 SIZE %d APPENDLIMIT 52428800)", len(crlf(msgPlain)))}},
		{cmd: `LIST "" "INBOX" RETURN (STATUS (DELETED-STORAGE))`, status: "BAD"},
	})
	r := c.do(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	mustNotHave(t, "LIST RECURSIVEMATCH", r.lines, `\NonExistent`)
}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	e.deliver(t, alice, msgNested)
	e.deliver(t, alice, msgMultipart)
	c := e.selected(t, alice, "INBOX")
	c.ok("STORE 1 +FLAGS (\\Seen)")
	c.ok("STORE 2 +FLAGS (\\Deleted \\Seen)")
	size := len(crlf(msgPlain)) + len(crlf(msgNested)) + len(crlf(msgMultipart))
	c.run(t, []step{
		{cmd: "STATUS INBOX (MESSAGES UIDNEXT UNSEEN DELETED SIZE RECENT)", status: "OK",
			lines: []string{fmt.Sprintf("* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UNSEEN 1 DELETED 1 SIZE %d RECENT 0)", size)}},
		{cmd: "STATUS Sent (MESSAGES SIZE)", status: "OK", lines: []string{`* STATUS "Sent" (MESSAGES 0 SIZE 0)`}},
		{cmd: "STATUS nowhere (MESSAGES)", status: "NO", code: "NONEXISTENT"},
		{cmd: "STATUS INBOX (DELETED-STORAGE)", status: "BAD"},
		{cmd: "STATUS INBOX (HIGHESTMODSEQ)", status: "BAD"},
		{cmd: "STATUS INBOX ()", status: "OK"},
		{cmd: "EXPUNGE", status: "OK", lines: []string{"* 2 EXPUNGE"}},
		{cmd: "STATUS INBOX (MESSAGES DELETED)", status: "OK", lines: []string{"(MESSAGES 2 DELETED 0)"}},
	})
}

func TestNamespace(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, alice)
	if got := c.ok("NAMESPACE"); !slices.Equal(got, []string{`* NAMESPACE (("" "/")) NIL NIL`}) {
		t.Errorf("NAMESPACE: got %q, want one personal namespace", got)
	}
	c.expect("BAD", "NAMESPACE extra")
	e.dial(t).expect("BAD", "NAMESPACE") // not logged in
}

func TestInboxChildren(t *testing.T) {
	// INBOX is case-insensitive, also as the parent of other mailboxes.
	e := newEnv(t)
	c := e.login(t, alice)
	c.run(t, []step{
		{cmd: "CREATE inbox/sub", status: "OK"},
		{cmd: `LIST "" "INBOX*"`, status: "OK", lines: []string{`* LIST (\HasChildren) "/" INBOX`, `* LIST (\HasNoChildren) "/" "INBOX/sub"`}},
		{cmd: `LIST "" "inbox/%"`, status: "OK", lines: []string{`"INBOX/sub"`}},
		{cmd: `LIST "Inbox" "%"`, status: "OK", lines: []string{`"INBOX/sub"`}},
		{cmd: "SELECT Inbox/sub", status: "OK"},
		{cmd: "STATUS INBOX/sub (MESSAGES)", status: "OK", lines: []string{`* STATUS "INBOX/sub" (MESSAGES 0)`}},
		{cmd: "DELETE inbox/sub", status: "OK"},
		{cmd: `LIST "" "INBOX*"`, status: "OK", lines: []string{`* LIST (\HasNoChildren) "/" INBOX`}},
	})
}
