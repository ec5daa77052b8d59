package imapd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fetchEnv delivers the four test messages to alice's INBOX (1 plain,
// 2 multipart, 3 nested message, 4 unknown transfer encoding) and
// selects it.
func fetchEnv(t *testing.T) (*env, *client) {
	t.Helper()
	e := newEnv(t)
	date := time.Date(2026, 3, 2, 11, 0, 0, 0, time.FixedZone("", 3600))
	for _, m := range []string{msgPlain, msgMultipart, msgNested, msgUnknownCTE} {
		e.deliverAt(t, alice, m, date)
	}
	return e, e.selected(t, alice, "INBOX")
}

const (
	aliceAddr   = `(("Alice Example" NIL "alice" "example.org"))`
	envPlain    = `ENVELOPE ("Mon, 02 Mar 2026 10:00:00 +0000" "Lunch on Friday" ` + aliceAddr + ` ` + aliceAddr + ` ` + aliceAddr + ` (("Bob" NIL "bob" "example.org")) ((NIL NIL "carol" "example.net")) NIL NIL "<lunch@example.org>")`
	bodyPlain   = `BODY ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 24 1)`
	structPlain = `BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 24 1 NIL NIL NIL NIL)`
	structMulti = `BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 27 0 NIL NIL NIL NIL)` +
		`("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" 20 NIL ("attachment" ("filename" "data.bin")) NIL NIL)` +
		` "mixed" ("boundary" "XYZ") NIL NIL NIL)`
	bodyNested = `BODY (("text" "plain" NIL NIL NIL "7bit" 10 0)("message" "rfc822" NIL NIL NIL "7bit" 91 ` +
		`(NIL "Lunch on Friday" ` + aliceAddr + ` ` + aliceAddr + ` ` + aliceAddr + ` NIL NIL NIL NIL NIL) ` +
		`("text" "plain" NIL NIL NIL "7bit" 22 0) 3) "mixed")`
)

func TestFetchItems(t *testing.T) {
	_, c := fetchEnv(t)
	plain := crlf(msgPlain)
	header, text, _ := strings.Cut(plain, "\r\n\r\n")
	header += "\r\n\r\n"
	tests := []struct {
		cmd  string
		want string // the whole untagged reply
	}{
		{"FETCH 1 (UID FLAGS)", "* 1 FETCH (UID 1 FLAGS ())"},
		{"FETCH 1 INTERNALDATE", `* 1 FETCH (INTERNALDATE " 2-Mar-2026 11:00:00 +0100")`},
		{"FETCH 1 RFC822.SIZE", fmt.Sprintf("* 1 FETCH (RFC822.SIZE %d)", len(plain))},
		{"FETCH 1 ENVELOPE", "* 1 FETCH (" + envPlain + ")"},
		{"FETCH 1 BODY", "* 1 FETCH (" + bodyPlain + ")"},
		{"FETCH 1 BODYSTRUCTURE", "* 1 FETCH (" + structPlain + ")"},
		{"FETCH 2 BODYSTRUCTURE", "* 2 FETCH (" + structMulti + ")"},
		{"FETCH 3 BODY", "* 3 FETCH (" + bodyNested + ")"},
		{"FETCH 1 FAST", fmt.Sprintf(`* 1 FETCH (FLAGS () INTERNALDATE " 2-Mar-2026 11:00:00 +0100" RFC822.SIZE %d)`, len(plain))},
		{"FETCH 1 ALL", fmt.Sprintf(`* 1 FETCH (FLAGS () INTERNALDATE " 2-Mar-2026 11:00:00 +0100" RFC822.SIZE %d %s)`, len(plain), envPlain)},
		{"FETCH 1 FULL", fmt.Sprintf(`* 1 FETCH (FLAGS () INTERNALDATE " 2-Mar-2026 11:00:00 +0100" RFC822.SIZE %d %s %s)`, len(plain), envPlain, bodyPlain)},
		{"FETCH 1 BODY.PEEK[]", fmt.Sprintf("* 1 FETCH (BODY[] {%d}\r\n%s)", len(plain), plain)},
		{"FETCH 1 BODY.PEEK[HEADER]", fmt.Sprintf("* 1 FETCH (BODY[HEADER] {%d}\r\n%s)", len(header), header)},
		{"FETCH 1 BODY.PEEK[TEXT]", fmt.Sprintf("* 1 FETCH (BODY[TEXT] {%d}\r\n%s)", len(text), text)},
		{"FETCH 1 BODY.PEEK[1]", fmt.Sprintf("* 1 FETCH (BODY[1] {%d}\r\n%s)", len(text), text)},
		{"FETCH 1 BODY.PEEK[]<0.4>", "* 1 FETCH (BODY[]<0> {4}\r\nFrom)"},
		{"FETCH 1 BODY.PEEK[TEXT]<6.3>", "* 1 FETCH (BODY[TEXT]<6> {3}\r\nwe )"},
		{"FETCH 1 BODY.PEEK[]<100000.10>", "* 1 FETCH (BODY[]<100000> {0}\r\n)"},
		{"FETCH 1 BODY.PEEK[7]", "* 1 FETCH (BODY[7] {0}\r\n)"},
		{"FETCH 1 BODY.PEEK[HEADER.FIELDS (subject TO)]", "* 1 FETCH (BODY[HEADER.FIELDS (\"subject\" \"TO\")] {55}\r\nTo: Bob <bob@example.org>\r\nSubject: Lunch on Friday\r\n\r\n)"},
		{"FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From To Cc Date Message-ID Content-Type)]", "* 1 FETCH (BODY[HEADER.FIELDS.NOT (\"From\" \"To\" \"Cc\" \"Date\" \"Message-ID\" \"Content-Type\")] {28}\r\nSubject: Lunch on Friday\r\n\r\n)"},
		{"FETCH 2 BODY.PEEK[2]", "* 2 FETCH (BODY[2] {20}\r\naGVsbG8gYmluYXJ5AAE=)"},
		{"FETCH 2 BODY.PEEK[1.MIME]", "* 2 FETCH (BODY[1.MIME] {88}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n)"},
		{"FETCH 3 BODY.PEEK[2.HEADER]", "* 3 FETCH (BODY[2.HEADER] {69}\r\nFrom: Alice Example <alice@example.org>\r\nSubject: Lunch on Friday\r\n\r\n)"},
		{"FETCH 3 BODY.PEEK[2.TEXT]", "* 3 FETCH (BODY[2.TEXT] {22}\r\nShall we meet at noon?)"},
		{"FETCH 3 BODY.PEEK[2.1]", "* 3 FETCH (BODY[2.1] {22}\r\nShall we meet at noon?)"},
		{"FETCH 3 BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]", "* 3 FETCH (BODY[2.HEADER.FIELDS (\"SUBJECT\")] {28}\r\nSubject: Lunch on Friday\r\n\r\n)"},
		{"FETCH 2 BINARY.PEEK[1]", "* 2 FETCH (BINARY[1] ~{19}\r\nLe café est prêt.)"},
		{"FETCH 2 BINARY.PEEK[2]", "* 2 FETCH (BINARY[2] ~{14}\r\nhello binary\x00\x01)"},
		{"FETCH 2 BINARY.PEEK[2]<6.6>", "* 2 FETCH (BINARY[2] ~{6}\r\nbinary)"}, // go-imap leaves out the <6>
		{"FETCH 2 (BINARY.SIZE[1] BINARY.SIZE[2])", "* 2 FETCH (BINARY.SIZE[1] 19 BINARY.SIZE[2] 14)"},
		{"FETCH 1 RFC822.HEADER", fmt.Sprintf("* 1 FETCH (RFC822.HEADER {%d}\r\n%s)", len(header), header)},
		{"FETCH 1 RFC822.PEEK", fmt.Sprintf("* 1 FETCH (RFC822.PEEK {%d}\r\n%s)", len(plain), plain)},
		{"UID FETCH 4 (BODY.PEEK[1])", "* 4 FETCH (UID 4 BODY[1] {9}\r\ngarbled\r\n)"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			lines := c.ok(tt.cmd)
			if len(lines) != 1 || lines[0] != tt.want {
				t.Errorf("got  %q\nwant %q", lines, tt.want)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	_, c := fetchEnv(t)
	c.run(t, []step{
		{cmd: "FETCH 4 BINARY[1]", status: "NO", code: "UNKNOWN-CTE"},
		{cmd: "FETCH 1:4 BINARY.SIZE[1]", status: "NO", code: "UNKNOWN-CTE"},
		{cmd: "FETCH 1 (FOO)", status: "BAD"},
		{cmd: "FETCH 1 BODY[FOO]", status: "BAD"},
		{cmd: "FETCH 1 (ALL)", status: "BAD"}, // macros are not allowed in a list
		{cmd: "FETCH 1", status: "BAD"},
		{cmd: "FETCH 1 BODY[]<1>", status: "BAD"},
		{cmd: "STORE 1 FLAGS (\\Seen)", status: "OK"},
	})
	// The NO [UNKNOWN-CTE] came before any part of a FETCH reply, and
	// left the flags alone.
	r := c.do("FETCH 4 (FLAGS BINARY[1])")
	if len(r.lines) != 0 {
		t.Errorf("FETCH 4 BINARY[1]: got %q, want no partial reply", r.lines)
	}
	mustHave(t, "FETCH FLAGS", c.ok("FETCH 4 FLAGS"), "* 4 FETCH (FLAGS ())")
	e := newEnv(t)
	e.login(t, alice).expect("BAD", "FETCH 1 FLAGS") // nothing selected
}

func TestFetchSetsSeen(t *testing.T) {
	_, c := fetchEnv(t)
	tests := []struct {
		item string
		seen bool
	}{
		{"BODY[]", true},
		{"BODY[TEXT]", true},
		{"BODY[1]", true},
		{"BODY[HEADER]", true},
		{"BINARY[2]", true},
		{"RFC822", true},
		{"RFC822.TEXT", true},
		{"BODY.PEEK[]", false},
		{"BINARY.PEEK[1]", false},
		{"RFC822.HEADER", false},
		{"RFC822.PEEK", false},
		{"BINARY.SIZE[1]", false},
		{"ENVELOPE", false},
		{"BODYSTRUCTURE", false},
		{"RFC822.SIZE", false},
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			c.ok("STORE 2 -FLAGS.SILENT (\\Seen)")
			lines := c.ok("FETCH 2 " + tt.item)
			inReply := has(lines, `FLAGS (\Seen)`)
			after := has(c.ok("FETCH 2 FLAGS"), `\Seen`)
			if after != tt.seen || inReply != tt.seen {
				t.Errorf("FETCH %s: got \\Seen in reply %v, set %v; want %v", tt.item, inReply, after, tt.seen)
			}
		})
	}
}

func TestFetchLargeMessage(t *testing.T) {
	// Bodies are stored in 64 KiB chunks and, past 1 MiB, written ahead:
	// ranges that cross chunks must come back byte for byte.
	e := newEnv(t)
	msg := bigMessage(3 << 20)
	e.deliver(t, alice, msg)
	c := e.selected(t, alice, "INBOX")
	mustHave(t, "RFC822.SIZE", c.ok("FETCH 1 RFC822.SIZE"), fmt.Sprintf("RFC822.SIZE %d)", len(msg)))
	for _, off := range []int{0, 65530, 1<<20 - 7, 3<<20 - 100} {
		n := 200
		want := msg[off:min(off+n, len(msg))]
		got := c.ok(fmt.Sprintf("FETCH 1 BODY.PEEK[]<%d.%d>", off, n))
		if len(got) != 1 || !strings.HasSuffix(got[0], "\r\n"+want+")") {
			t.Errorf("BODY[]<%d.%d>: got %.80q..., want %.80q...", off, n, got, want)
		}
	}
	lines := c.ok("FETCH 1 BODY.PEEK[]")
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "\r\n"+msg+")") {
		t.Errorf("BODY[] of %d bytes: got %d bytes of reply, not the message", len(msg), len(strings.Join(lines, "")))
	}
}

func TestFetchWhileAnotherSessionExpunges(t *testing.T) {
	// A FETCH that has started sending a message must be able to finish
	// it even if another session expunges the message meanwhile: the
	// literal's length is already on the wire.
	e := newEnv(t)
	msg := bigMessage(16 << 20)
	e.deliver(t, alice, msg)
	a := e.selected(t, alice, "INBOX")
	b := e.selected(t, alice, "INBOX")
	a.send("a1 FETCH 1 BODY.PEEK[]")
	a.nc.SetReadDeadline(time.Now().Add(wait))
	if line, err := a.r.ReadString('\n'); err != nil || !strings.HasSuffix(line, fmt.Sprintf("{%d}\r\n", len(msg))) {
		t.Fatalf("FETCH: got %q, %v, want the literal's length", line, err)
	}
	// Read the start only: the server blocks on a full socket, with most
	// of the message still to read from the store.
	head := make([]byte, 64)
	if _, err := io.ReadFull(a.r, head); err != nil {
		t.Fatal(err)
	}
	b.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	rest := make([]byte, len(msg)-len(head))
	n, err := io.ReadFull(a.r, rest)
	if got := string(head) + string(rest[:n]); err != nil || got != msg {
		t.Fatalf("FETCH BODY[] during another session's EXPUNGE: got %d bytes (%v), want the whole %d-byte message", len(got), err, len(msg))
	}
	if tail := a.readLine(); tail != ")" {
		t.Errorf("after the literal: got %q, want )", tail)
	}
	if r := a.readReply("a1"); r.status != "OK" {
		t.Errorf("FETCH: got %s %s, want OK", r.status, r.text)
	}
}

func TestFetchCutOffHangsUp(t *testing.T) {
	// Until the store keeps a body readable for a reader that has begun
	// (see the test above), a FETCH that cannot finish its literal must
	// close the connection rather than leave the client waiting for the
	// rest of it.
	e := newEnv(t)
	e.logs.allowErrors()
	msg := bigMessage(16 << 20)
	e.deliver(t, alice, msg)
	a := e.selected(t, alice, "INBOX")
	b := e.selected(t, alice, "INBOX")
	a.send("a1 FETCH 1 BODY.PEEK[]")
	a.nc.SetReadDeadline(time.Now().Add(wait))
	if _, err := a.r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	b.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	a.nc.SetReadDeadline(time.Now().Add(wait))
	n, err := io.CopyN(io.Discard, a.r, int64(len(msg)))
	var ne net.Error
	switch {
	case err == nil: // the whole message: the store kept it readable
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("FETCH cut off: the client waited in vain after %d bytes", n)
	default:
		t.Logf("FETCH cut off after %d of %d bytes; the server hung up (%v)", n, len(msg), err)
	}
}

// bigMessage returns a message of at least n bytes of numbered lines.
func bigMessage(n int) string {
	var sb strings.Builder
	sb.WriteString("From: a@example.org\r\nSubject: big\r\n\r\n")
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, "line %07d of a large message, padded to be long enough.\r\n", i)
	}
	return sb.String()
}
