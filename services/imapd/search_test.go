package imapd

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const msgBcc = `From: Frank <frank@example.com>
To: alice@example.org
Bcc: secret@example.org
Subject: Hidden copy
Date: Fri, 20 Mar 2026 09:00:00 -0700
X-Priority: 1

Plain text with UNIQUEWORD in it.
`

// searchEnv gives alice five messages with distinct dates, flags and
// headers, selected on the returned client:
//
//	1 msgPlain       1 Mar  \Seen
//	2 msgMultipart   5 Mar  \Flagged \Answered
//	3 msgNested     10 Mar  \Deleted
//	4 msgUnknownCTE 15 Mar  \Draft $Important
//	5 msgBcc        20 Mar
func searchEnv(t *testing.T) (*env, *client) {
	t.Helper()
	e := newEnv(t)
	msgs := []string{msgPlain, msgMultipart, msgNested, msgUnknownCTE, msgBcc}
	days := []int{1, 5, 10, 15, 20}
	for i, m := range msgs {
		e.deliverAt(t, alice, m, time.Date(2026, 3, days[i], 12, 0, 0, 0, time.UTC))
	}
	c := e.selected(t, alice, "INBOX")
	c.ok(`STORE 1 +FLAGS.SILENT (\Seen)`)
	c.ok(`STORE 2 +FLAGS.SILENT (\Flagged \Answered)`)
	c.ok(`STORE 3 +FLAGS.SILENT (\Deleted)`)
	c.ok(`STORE 4 +FLAGS.SILENT (\Draft $Important)`)
	return e, c
}

func TestSearchCriteria(t *testing.T) {
	_, c := searchEnv(t)
	size := len(crlf(msgPlain))
	sizes := []int{size, len(crlf(msgMultipart)), len(crlf(msgNested)), len(crlf(msgUnknownCTE)), len(crlf(msgBcc))}
	bySize := func(keep func(int) bool) string {
		var out []string
		for i, n := range sizes {
			if keep(n) {
				out = append(out, fmt.Sprint(i+1))
			}
		}
		return strings.Join(out, " ")
	}
	tests := []struct{ criteria, want string }{
		{"ALL", "1 2 3 4 5"},
		{"SEEN", "1"},
		{"UNSEEN", "2 3 4 5"},
		{"FLAGGED", "2"},
		{"UNFLAGGED", "1 3 4 5"},
		{"ANSWERED", "2"},
		{"UNANSWERED", "1 3 4 5"},
		{"DELETED", "3"},
		{"UNDELETED", "1 2 4 5"},
		{"DRAFT", "4"},
		{"UNDRAFT", "1 2 3 5"},
		{"KEYWORD $Important", "4"},
		{"KEYWORD $important", "4"}, // keywords compare case-insensitively
		{"UNKEYWORD $Important", "1 2 3 5"},
		{"RECENT", ""},
		{"NEW", ""},
		{"OLD", "1 2 3 4 5"},
		{"FROM alice", "1"}, // not 3, whose embedded message is from Alice
		{`FROM "ALICE EXAMPLE"`, "1"},
		{"FROM example.com", "3 4 5"},
		{"TO bob", "1"},
		{"TO alice@example.org", "2 3 4 5"},
		{"CC carol", "1"},
		{"BCC secret", "5"},
		{"SUBJECT lunch", "1 3"},
		{"SUBJECT café", "2"}, // an RFC 2047 encoded word
		{`SUBJECT "trimestriel —"`, "2"},
		{"HEADER X-Priority 1", "5"},
		{`HEADER x-priority ""`, "5"},
		{`HEADER Message-ID ""`, "1 2"},
		{"HEADER X-Nothing x", ""},
		{"BODY noon", "1 3"},
		{"BODY lunch", "3"}, // the header of an embedded message is body text
		{"BODY uniqueword", "5"},
		{`BODY "prêt"`, "2"}, // quoted-printable, decoded
		{"TEXT lunch", "1 3"},
		{"TEXT frank", "5"},
		{"SINCE 5-Mar-2026", "2 3 4 5"},
		{"BEFORE 5-Mar-2026", "1"},
		{"ON 10-Mar-2026", "3"},
		{"SENTSINCE 11-Mar-2026", "3 4 5"},
		{"SENTBEFORE 3-Mar-2026", "1"},
		{"SENTON 10-Mar-2026", "2"},
		{"SENTON 20-Mar-2026", "5"}, // 09:00 -0700 is the 20th in its own zone
		{fmt.Sprintf("LARGER %d", size-1), bySize(func(n int) bool { return n > size-1 })},
		{fmt.Sprintf("SMALLER %d", size+1), bySize(func(n int) bool { return n < size+1 })},
		{fmt.Sprintf("LARGER %d", size), bySize(func(n int) bool { return n > size })},
		{fmt.Sprintf("SMALLER %d", size), bySize(func(n int) bool { return n < size })},
		{fmt.Sprintf("LARGER %d SMALLER %d", size-1, size+1), "1"},
		{"UID 2:4", "2 3 4"},
		{"UID 4:*", "4 5"},
		{"2,4:5", "2 4 5"},
		{"*", "5"},
		{"NOT SEEN", "2 3 4 5"},
		{"OR SEEN FLAGGED", "1 2"},
		{"OR (FROM alice) (FROM carol)", "1 2"},
		{"NOT (OR SEEN FLAGGED)", "3 4 5"},
		{"(SEEN) (UNDELETED)", "1"},
		{"UNSEEN UNDELETED SINCE 1-Mar-2026 NOT DRAFT", "2 5"},
		{"CHARSET UTF-8 SUBJECT café", "2"},
		{"CHARSET US-ASCII SUBJECT lunch", "1 3"},
	}
	for _, tt := range tests {
		t.Run(tt.criteria, func(t *testing.T) {
			lines := only(c.ok("SEARCH "+tt.criteria), "* SEARCH")
			want := strings.TrimSpace("* SEARCH " + tt.want)
			if len(lines) != 1 || lines[0] != want {
				t.Errorf("got %q, want %q", lines, want)
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	_, c := searchEnv(t)
	c.run(t, []step{
		{cmd: "SEARCH CHARSET ISO-8859-1 SUBJECT x", status: "NO", code: "BADCHARSET"},
		{cmd: "SEARCH BOGUS", status: "!OK"},
		{cmd: "SEARCH SINCE yesterday", status: "!OK"}, // go-imap: NO [SERVERBUG]
		{cmd: "SEARCH OR SEEN", status: "BAD"},
		{cmd: "SEARCH", status: "BAD"},
		{cmd: "SEARCH RETURN (BOGUS) ALL", status: "BAD"},
	})
}

func TestSearchWithLiteral(t *testing.T) {
	_, c := searchEnv(t)
	needle := "café"
	c.send(fmt.Sprintf("a1 SEARCH CHARSET UTF-8 SUBJECT {%d}", len(needle)))
	if got := c.readLine(); !strings.HasPrefix(got, "+") {
		t.Fatalf("got %q, want a continuation", got)
	}
	c.send(needle)
	r := c.readReply("a1")
	if r.status != "OK" || !has(r.lines, "* SEARCH 2") {
		t.Errorf("SEARCH with a literal: got %q %s %s, want * SEARCH 2", r.lines, r.status, r.text)
	}
}

func TestUIDSearch(t *testing.T) {
	e, c := searchEnv(t)
	c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	c.ok("UID EXPUNGE 1") // UIDs 2 to 5 are now numbers 1 to 4
	e.deliver(t, alice, msgPlain)
	c.ok("NOOP")
	c.run(t, []step{
		{cmd: "UID SEARCH ALL", status: "OK", lines: []string{"* SEARCH 2 3 4 5 6"}},
		{cmd: "SEARCH ALL", status: "OK", lines: []string{"* SEARCH 1 2 3 4 5"}},
		{cmd: "UID SEARCH FROM alice", status: "OK", lines: []string{"* SEARCH 6"}},
		{cmd: "SEARCH FROM alice", status: "OK", lines: []string{"* SEARCH 5"}},
		{cmd: "UID SEARCH 1:2", status: "OK", lines: []string{"* SEARCH 2 3"}},
		{cmd: "UID SEARCH UID 1:2", status: "OK", lines: []string{"* SEARCH 2"}},
	})
}

func TestESearch(t *testing.T) {
	_, c := searchEnv(t)
	tests := []struct {
		enable, cmd, want string
	}{
		{"", "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN", "ALL 2:5 MIN 2 MAX 5 COUNT 4"},
		{"", "SEARCH RETURN () UNSEEN", "ALL 2:5"},
		{"", "SEARCH RETURN (COUNT) KEYWORD nothing", "COUNT 0"},
		{"", "SEARCH RETURN (MIN MAX) KEYWORD nothing", ""},
		{"", "UID SEARCH RETURN (COUNT MAX) ALL", "UID MAX 5 COUNT 5"},
		{"", "SEARCH RETURN (ALL) OR SEEN DRAFT", "ALL 1,4"},
		{"ENABLE IMAP4rev2", "SEARCH UNSEEN", "ALL 2:5"},
		{"ENABLE IMAP4rev2", "UID SEARCH FLAGGED", "UID ALL 2"},
		{"ENABLE IMAP4rev2", "SEARCH KEYWORD nothing", ""},
		{"ENABLE IMAP4rev2", "SEARCH RETURN (COUNT) ALL", "COUNT 5"},
	}
	for _, tt := range tests {
		t.Run(tt.enable+" "+tt.cmd, func(t *testing.T) {
			if tt.enable != "" {
				c.ok(tt.enable)
			}
			tag := fmt.Sprintf("a%d", c.tag+1)
			want := strings.TrimSpace(fmt.Sprintf("* ESEARCH (TAG %q) %s", tag, tt.want))
			lines := c.ok(tt.cmd)
			if len(lines) != 1 || lines[0] != want {
				t.Errorf("got %q, want %q", lines, want)
			}
		})
	}
}

func TestSearchRes(t *testing.T) {
	_, c := searchEnv(t)
	c.ok("SEARCH RETURN (SAVE) FLAGGED")
	c.run(t, []step{
		{cmd: "FETCH $ (UID)", status: "OK", lines: []string{"* 2 FETCH (UID 2)"}},
		{cmd: "SEARCH $", status: "OK", lines: []string{"* SEARCH 2"}},
		{cmd: "SEARCH UID $", status: "OK", lines: []string{"* SEARCH 2"}},
		{cmd: "UID SEARCH OR $ 1", status: "OK", lines: []string{"* SEARCH 1 2"}},
		{cmd: "STORE $ +FLAGS (\\Seen)", status: "OK", lines: []string{`* 2 FETCH (FLAGS (\Answered \Flagged \Seen) UID 2)`}},
		{cmd: "UID COPY $ Archive", status: "OK"},
		{cmd: "STATUS Archive (MESSAGES)", status: "OK", lines: []string{"MESSAGES 1"}},
	})
	// With MIN and MAX only, $ holds just those (RFC 5182 §2.4).
	c.ok("SEARCH RETURN (SAVE MIN MAX) ALL")
	if got := fetched(c.ok("FETCH $ (UID)")); strings.Join(got, " ") != "1:1 5:5" {
		t.Errorf("FETCH $ after SAVE MIN MAX: got %q, want 1:1 5:5", got)
	}
	c.ok("SEARCH RETURN (SAVE MAX) UNSEEN")
	if got := fetched(c.ok("FETCH $ (UID)")); strings.Join(got, " ") != "5:5" {
		t.Errorf("FETCH $ after SAVE MAX: got %q, want 5:5", got)
	}
	c.ok("SEARCH RETURN (SAVE COUNT MIN) UNSEEN")
	if got := fetched(c.ok("FETCH $ (UID)")); strings.Join(got, " ") != "3:3 4:4 5:5" {
		t.Errorf("FETCH $ after SAVE COUNT MIN: got %q, want 3:3 4:4 5:5", got)
	}
	c.ok("SEARCH RETURN (SAVE) KEYWORD nothing")
	if got := c.ok("FETCH $ (UID)"); len(got) != 0 {
		t.Errorf("FETCH $ after an empty SAVE: got %q, want nothing", got)
	}
	c.ok("SEARCH RETURN (SAVE) ALL")
	c.ok("SELECT INBOX") // $ does not survive SELECT
	if got := c.ok("FETCH $ (UID)"); len(got) != 0 {
		t.Errorf("FETCH $ after SELECT: got %q, want nothing", got)
	}
	c.ok("SEARCH RETURN (SAVE) DRAFT")
	mustHave(t, "UID MOVE $", c.ok("UID MOVE $ Junk"), "* 4 EXPUNGE")
}
