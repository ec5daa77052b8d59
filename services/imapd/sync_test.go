package imapd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fetched maps the sequence numbers of "* n FETCH (UID u ...)" lines to
// their UIDs, as "n:u" strings in reply order.
func fetched(lines []string) []string {
	re := regexp.MustCompile(`^\* (\d+) FETCH \(.*UID (\d+)`)
	var out []string
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+":"+m[2])
		}
	}
	return out
}

// gappy gives alice an INBOX with UIDs 1, 3, 5 and 6 at sequence numbers
// 1 to 4, selected on the returned client.
func gappy(t *testing.T, e *env) *client {
	t.Helper()
	for i := 1; i <= 5; i++ {
		e.deliver(t, alice, plainMsg(fmt.Sprintf("message %d", i), "body"))
	}
	c := e.selected(t, alice, "INBOX")
	c.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
	c.ok("EXPUNGE")
	e.deliver(t, alice, plainMsg("message 6", "body"))
	mustHave(t, "NOOP", c.ok("NOOP"), "* 4 EXISTS")
	return c
}

func TestNumberSets(t *testing.T) {
	e := newEnv(t)
	c := gappy(t, e)
	tests := []struct {
		cmd    string
		status string
		want   []string // seq:uid
	}{
		{"FETCH 1 (UID)", "OK", []string{"1:1"}},
		{"FETCH * (UID)", "OK", []string{"4:6"}},
		{"FETCH 2:* (UID)", "OK", []string{"2:3", "3:5", "4:6"}},
		{"FETCH *:2 (UID)", "OK", []string{"2:3", "3:5", "4:6"}},
		{"FETCH 3:1 (UID)", "OK", []string{"1:1", "2:3", "3:5"}},
		{"FETCH 1,3 (UID)", "OK", []string{"1:1", "3:5"}},
		{"FETCH 4,1:2 (UID)", "OK", []string{"1:1", "2:3", "4:6"}},
		{"FETCH 9:* (UID)", "OK", []string{"4:6"}}, // n:* with n past the end is *:n
		{"FETCH 5 (UID)", "BAD", nil},
		{"FETCH 2:7 (UID)", "BAD", nil},
		{"FETCH 0 (UID)", "!OK", nil}, // go-imap: NO [SERVERBUG]
		{"FETCH x (UID)", "!OK", nil},
		{"UID FETCH 3:5 (UID)", "OK", []string{"2:3", "3:5"}},
		{"UID FETCH 5:3 (FLAGS)", "OK", []string{"2:3", "3:5"}},
		{"UID FETCH * (FLAGS)", "OK", []string{"4:6"}},
		{"UID FETCH 5:* (FLAGS)", "OK", []string{"3:5", "4:6"}},
		{"UID FETCH 100:* (FLAGS)", "OK", []string{"4:6"}}, // always the last message
		{"UID FETCH *:4 (FLAGS)", "OK", []string{"3:5", "4:6"}},
		{"UID FETCH 2,4 (FLAGS)", "OK", nil}, // expunged UIDs are ignored
		{"UID FETCH 100 (FLAGS)", "OK", nil},
		{"UID FETCH 1:* (FLAGS)", "OK", []string{"1:1", "2:3", "3:5", "4:6"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			r := c.do(tt.cmd)
			if tt.status == "!OK" && r.status != "OK" {
				return
			}
			if r.status != tt.status {
				t.Fatalf("got %s %s, want %s", r.status, r.text, tt.status)
			}
			if got := fetched(r.lines); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNumberSetsInOtherCommands(t *testing.T) {
	e := newEnv(t)
	c := gappy(t, e)
	c.run(t, []step{
		{cmd: "SEARCH 2:*", status: "OK", lines: []string{"* SEARCH 2 3 4"}},
		{cmd: "SEARCH *:3", status: "OK", lines: []string{"* SEARCH 3 4"}},
		{cmd: "SEARCH UID 5:*", status: "OK", lines: []string{"* SEARCH 3 4"}},
		{cmd: "UID SEARCH 3:1", status: "OK", lines: []string{"* SEARCH 1 3 5"}},
		{cmd: "UID SEARCH UID *:4", status: "OK", lines: []string{"* SEARCH 5 6"}},
		{cmd: "UID SEARCH UID 100:*", status: "OK", lines: []string{"* SEARCH 6"}},
		{cmd: "STORE *:3 +FLAGS (\\Flagged)", status: "OK",
			lines: []string{`* 3 FETCH (FLAGS (\Flagged) UID 5)`, `* 4 FETCH (FLAGS (\Flagged) UID 6)`}},
		{cmd: "UID STORE 6:5 -FLAGS (\\Flagged)", status: "OK",
			lines: []string{"* 3 FETCH (FLAGS () UID 5)", "* 4 FETCH (FLAGS () UID 6)"}},
		{cmd: "STORE 7 +FLAGS (\\Seen)", status: "BAD"},
		{cmd: "COPY 3:* Archive", status: "OK"},
		{cmd: "UID COPY 3:1 Archive", status: "OK"},
		{cmd: "COPY 9 Archive", status: "BAD"},
		{cmd: "STATUS Archive (MESSAGES)", status: "OK", lines: []string{"MESSAGES 4"}},
		{cmd: "UID MOVE 6:5 Junk", status: "OK", lines: []string{"* OK [COPYUID ", "* 3 EXPUNGE", "* 3 EXPUNGE"}},
		{cmd: "FETCH 1:* (UID)", status: "OK", lines: []string{"* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"}},
	})
}

func TestEmptyMailboxNumberSets(t *testing.T) {
	e := newEnv(t)
	c := e.selected(t, alice, "Sent")
	c.run(t, []step{
		{cmd: "FETCH 1:* FLAGS", status: "OK"},
		{cmd: "FETCH * FLAGS", status: "OK"},
		{cmd: "UID FETCH 1:* FLAGS", status: "OK"},
		{cmd: "FETCH 1 FLAGS", status: "BAD"},
		{cmd: "SEARCH ALL", status: "OK", lines: []string{"* SEARCH"}},
		{cmd: "STORE 1:* +FLAGS (\\Seen)", status: "OK"},
		{cmd: "COPY 1:* INBOX", status: "OK"},
		{cmd: "EXPUNGE", status: "OK"},
	})
}

// twoSessions selects alice's INBOX, holding five messages, on two
// connections.
func twoSessions(t *testing.T) (e *env, a, b *client) {
	t.Helper()
	e = newEnv(t)
	for i := 1; i <= 5; i++ {
		e.deliver(t, alice, plainMsg(fmt.Sprintf("message %d", i), "body"))
	}
	return e, e.selected(t, alice, "INBOX"), e.selected(t, alice, "INBOX")
}

func TestNoExpungeDuringFetchStoreSearch(t *testing.T) {
	_, a, b := twoSessions(t)
	b.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
	mustHave(t, "B EXPUNGE", b.ok("EXPUNGE"), "* 2 EXPUNGE", "* 3 EXPUNGE")

	// A was not told yet: its numbers still count the two messages.
	r := a.do("FETCH 1:5 (UID)")
	mustNotHave(t, "A FETCH", r.lines, "EXPUNGE")
	if got, want := fetched(r.lines), []string{"1:1", "3:3", "5:5"}; !slices.Equal(got, want) {
		t.Errorf("A FETCH 1:5: got %q, want %q", got, want)
	}
	r = a.do("STORE 5 +FLAGS (\\Flagged)")
	mustNotHave(t, "A STORE", r.lines, "EXPUNGE")
	mustHave(t, "A STORE", r.lines, `* 5 FETCH (FLAGS (\Flagged) UID 5)`)
	r = a.do("SEARCH ALL")
	mustNotHave(t, "A SEARCH", r.lines, "EXPUNGE")
	mustHave(t, "A SEARCH", r.lines, "* SEARCH 1 3 5")
	a.ok("STORE 2 +FLAGS (\\Seen)") // gone: nothing to do, no error

	// The next command that allows it reports them, in order.
	lines := a.ok("NOOP")
	if got, want := only(lines, "* "), []string{"* 2 EXPUNGE", "* 3 EXPUNGE"}; !slices.Equal(got, want) {
		t.Errorf("A NOOP: got %q, want %q", got, want)
	}
	if got, want := fetched(a.ok("FETCH 1:* (UID)")), []string{"1:1", "2:3", "3:5"}; !slices.Equal(got, want) {
		t.Errorf("A FETCH after NOOP: got %q, want %q", got, want)
	}
	a.expect("BAD", "FETCH 4 (UID)")
}

func TestUIDCommandsMayReportExpunges(t *testing.T) {
	// RFC 3501 §7.4.1: UID FETCH, UID STORE and UID SEARCH are other
	// commands than FETCH, STORE and SEARCH: EXPUNGE may be sent.
	for _, cmd := range []string{"UID FETCH 1:* (FLAGS)", "UID STORE 1 +FLAGS (\\Seen)", "UID SEARCH ALL", "CHECK", "STATUS Sent (MESSAGES)"} {
		t.Run(cmd, func(t *testing.T) {
			_, a, b := twoSessions(t)
			b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
			b.ok("EXPUNGE")
			mustHave(t, cmd, a.ok(cmd), "* 2 EXPUNGE")
		})
	}
}

func TestExpungeReportsOthersToo(t *testing.T) {
	_, a, b := twoSessions(t)
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	a.ok("STORE 5 +FLAGS.SILENT (\\Deleted)") // a's number 5 is UID 5
	lines := only(a.ok("EXPUNGE"), "* ")
	if want := []string{"* 5 EXPUNGE", "* 1 EXPUNGE"}; !slices.Equal(lines, want) {
		t.Errorf("EXPUNGE: got %q, want %q", lines, want)
	}
	if got, want := fetched(a.ok("FETCH 1:* (UID)")), []string{"1:2", "2:3", "3:4"}; !slices.Equal(got, want) {
		t.Errorf("FETCH after EXPUNGE: got %q, want %q", got, want)
	}
}

func TestOtherSessionsChangesAtNextCommand(t *testing.T) {
	e, a, b := twoSessions(t)
	b.ok("STORE 1 +FLAGS (\\Answered)")
	e.deliver(t, alice, msgPlain)
	b.appendMsg("INBOX", "(\\Seen)", plainMsg("appended", "x"))
	lines := a.ok("NOOP")
	mustHave(t, "NOOP", lines, `* 1 FETCH (UID 1 FLAGS (\Answered))`, "* 7 EXISTS")
	// Its own changes are not echoed back.
	a.ok("STORE 2 +FLAGS (\\Flagged)")
	if lines := a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("NOOP after own STORE: got %q, want nothing", lines)
	}
	mustHave(t, "B NOOP", b.ok("NOOP"), `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	// FETCH BODY[] sets \Seen in the FETCH reply, and only there.
	mustHave(t, "FETCH", a.ok("FETCH 3 BODY[]"), `FLAGS (\Seen)`)
	if lines := a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("NOOP after FETCH BODY[]: got %q, want nothing", lines)
	}
	mustHave(t, "B NOOP", b.ok("NOOP"), `* 3 FETCH (UID 3 FLAGS (\Seen))`)
}

func TestSearchResultAcrossExpunge(t *testing.T) {
	_, a, b := twoSessions(t)
	a.ok(`SEARCH RETURN (SAVE) OR SUBJECT "message 2" SUBJECT "message 4"`)
	b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	a.ok("NOOP")
	// $ keeps the UIDs; the expunged one drops out (RFC 5182 §2.1).
	if got, want := fetched(a.ok("FETCH $ (UID)")), []string{"3:4"}; !slices.Equal(got, want) {
		t.Errorf("FETCH $: got %q, want %q", got, want)
	}
}

func TestConcurrentSessions(t *testing.T) {
	// Several sessions change one mailbox at once; each must end up with a
	// view that agrees with the store.
	e := newEnv(t)
	for i := 1; i <= 20; i++ {
		e.deliver(t, alice, plainMsg(fmt.Sprintf("m%d", i), "x"))
	}
	clients := []*client{e.selected(t, alice, "INBOX"), e.selected(t, alice, "INBOX"), e.selected(t, alice, "INBOX")}
	done := make(chan string, len(clients))
	for i, c := range clients {
		go func() {
			var sb strings.Builder
			for j := range 5 {
				r := c.do(fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)", 1+i+3*j))
				r2 := c.do("EXPUNGE")
				if r.status != "OK" || r2.status != "OK" {
					fmt.Fprintf(&sb, "client %d: %s %s / %s %s\n", i, r.status, r.text, r2.status, r2.text)
				}
			}
			done <- sb.String()
		}()
	}
	for range clients {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
	for i, c := range clients {
		c.ok("NOOP")
		got := fetched(c.ok("FETCH 1:* (UID)"))
		if len(got) != 5 {
			t.Errorf("client %d: got %d messages %q, want 5", i, len(got), got)
		}
		for j, sq := range got {
			if !strings.HasPrefix(sq, fmt.Sprint(j+1)+":") {
				t.Errorf("client %d: got %q, want sequence numbers 1 to 5", i, got)
				break
			}
		}
	}
}
