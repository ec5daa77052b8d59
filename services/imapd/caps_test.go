package imapd

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// probe shows that one capability works, on a logged-in TLS connection.
// The deeper tests are in the files of each command.
type probe func(t *testing.T, e *env, c *client)

// probes has one entry for every capability the server may advertise.
// TestEveryCapabilityWorks fails for an advertised capability without one,
// so nothing is advertised that is not tested.
var probes = map[string]probe{
	"IMAP4rev1":          probeRev1,
	"IMAP4rev2":          probeRev2,
	"STARTTLS":           probeStartTLS,
	"LOGINDISABLED":      probeLoginDisabled,
	"AUTH=PLAIN":         probeAuthPlain,
	"SASL-IR":            probeAuthPlain,
	"LITERAL-":           probeLiteralMinus,
	"UNSELECT":           probeUnselect,
	"ENABLE":             probeEnable,
	"IDLE":               probeIdle,
	"UTF8=ACCEPT":        probeUTF8Accept,
	"NAMESPACE":          probeNamespace,
	"UIDPLUS":            probeUIDPlus,
	"ESEARCH":            probeESearch,
	"SEARCHRES":          probeSearchRes,
	"LIST-EXTENDED":      probeListExtended,
	"LIST-STATUS":        probeListStatus,
	"MOVE":               probeMove,
	"STATUS=SIZE":        probeStatusSize,
	"BINARY":             probeBinary,
	"CHILDREN":           probeChildren,
	"SPECIAL-USE":        probeSpecialUse,
	"CREATE-SPECIAL-USE": probeCreateSpecialUse,
	"UNAUTHENTICATE":     probeUnauthenticate,
	"APPENDLIMIT":        probeAppendLimit,
}

func TestEveryCapabilityWorks(t *testing.T) {
	e := newEnv(t, secure)
	all := e.dial(t).capabilities() // before TLS
	all = append(all, e.dialTLS(t).capabilities()...)
	c := e.dialTLS(t)
	c.ok("LOGIN " + alice + " " + quote(password))
	all = append(all, c.capabilities()...)
	slices.Sort(all)
	for _, cp := range slices.Compact(all) {
		if strings.HasPrefix(cp, "APPENDLIMIT=") {
			cp = "APPENDLIMIT"
		}
		t.Run(cp, func(t *testing.T) {
			p, ok := probes[cp]
			if !ok {
				t.Fatalf("capability %s is advertised but has no probe", cp)
			}
			c := e.dialTLS(t)
			c.ok("LOGIN " + alice + " " + quote(password))
			p(t, e, c)
		})
	}
}

// fresh creates box holding n small messages and selects it.
func (c *client) fresh(box string, n int) {
	c.t.Helper()
	c.ok("CREATE " + box)
	for i := 1; i <= n; i++ {
		if r := c.appendMsg(box, "", plainMsg(fmt.Sprintf("%s %d", box, i), "body")); r.status != "OK" {
			c.t.Fatalf("APPEND: got %s %s", r.status, r.text)
		}
	}
	c.ok("SELECT " + box)
}

func probeRev1(t *testing.T, e *env, c *client) {
	c.fresh("rev1", 2)
	mustHave(t, "SEARCH", c.ok("SEARCH ALL"), "* SEARCH 1 2")
}

func probeRev2(t *testing.T, e *env, c *client) {
	mustHave(t, "ENABLE", c.ok("ENABLE IMAP4rev2"), "* ENABLED IMAP4rev2")
	c.fresh("rev2", 2)
	mustHave(t, "SEARCH", c.ok("SEARCH ALL"), "* ESEARCH (TAG ", "ALL 1:2")
}

func probeEnable(t *testing.T, e *env, c *client) {
	lines := c.ok("ENABLE CONDSTORE UTF8=ACCEPT IMAP4rev2")
	if want := []string{"* ENABLED UTF8=ACCEPT IMAP4rev2"}; !slices.Equal(lines, want) {
		t.Errorf("ENABLE: got %q, want %q (CONDSTORE is not offered)", lines, want)
	}
}

func probeStartTLS(t *testing.T, e *env, _ *client) {
	c := e.dial(t)
	c.startTLS(e.client)
	c.ok("LOGIN " + alice + " " + quote(password))
}

func probeLoginDisabled(t *testing.T, e *env, _ *client) {
	c := e.dial(t)
	c.expect("NO", "LOGIN "+alice+" "+quote(password))
}

func probeAuthPlain(t *testing.T, e *env, _ *client) {
	c := e.dialTLS(t)
	c.ok("AUTHENTICATE PLAIN " + plain(alice, password))
}

func probeLiteralMinus(t *testing.T, e *env, c *client) {
	// Non-synchronizing literals of at most 4096 bytes (RFC 7888 §5).
	c.send("a1 CREATE {7+}\r\nminus/x")
	if r := c.readReply("a1"); r.status != "OK" {
		t.Fatalf("CREATE with {7+}: got %s %s", r.status, r.text)
	}
	mustHave(t, "LIST", c.ok(`LIST "" minus/x`), `"minus/x"`)
	msg := crlf(plainMsg("minus", strings.Repeat("0123456789\n", 300)))
	c.send(fmt.Sprintf("a2 APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	if r := c.readReply("a2"); r.status != "OK" {
		t.Fatalf("APPEND with {%d+}: got %s %s", len(msg), r.status, r.text)
	}
}

func probeUnselect(t *testing.T, e *env, c *client) {
	c.fresh("unselect", 1)
	c.ok("STORE 1 +FLAGS (\\Deleted)")
	c.ok("UNSELECT")
	mustHave(t, "STATUS", c.ok("STATUS unselect (MESSAGES)"), "MESSAGES 1")
	c.expect("BAD", "FETCH 1 FLAGS")
}

func probeIdle(t *testing.T, e *env, c *client) {
	c.ok("SELECT INBOX")
	c.send("a1 IDLE")
	if got := c.readLine(); !strings.HasPrefix(got, "+") {
		t.Fatalf("IDLE: got %q, want +", got)
	}
	e.deliver(t, alice, msgPlain)
	if got := c.readLine(); !strings.HasSuffix(got, " EXISTS") {
		t.Errorf("during IDLE: got %q, want * n EXISTS", got)
	}
	c.send("DONE")
	if r := c.readReply("a1"); r.status != "OK" {
		t.Errorf("DONE: got %s %s", r.status, r.text)
	}
}

func probeUTF8Accept(t *testing.T, e *env, c *client) {
	c.ok(`CREATE "Caf&AOk-"`) // modified UTF-7 before ENABLE
	mustHave(t, "LIST", c.ok(`LIST "" Caf*`), `"Caf&AOk-"`)
	mustHave(t, "ENABLE", c.ok("ENABLE UTF8=ACCEPT"), "* ENABLED UTF8=ACCEPT")
	mustHave(t, "LIST after ENABLE", c.ok(`LIST "" Caf*`), `"Café"`)
	c.ok(`CREATE "Thé"`)
	mustHave(t, "STATUS", c.ok(`STATUS "Thé" (MESSAGES)`), `"Thé" (MESSAGES 0)`)
}

func probeNamespace(t *testing.T, e *env, c *client) {
	mustHave(t, "NAMESPACE", c.ok("NAMESPACE"), `* NAMESPACE (("" "/")) NIL NIL`)
}

func probeUIDPlus(t *testing.T, e *env, c *client) {
	c.fresh("uidplus", 2)
	r := c.appendMsg("uidplus", "", plainMsg("three", "3"))
	if !strings.Contains(r.text, "[APPENDUID ") || !strings.Contains(r.text, " 3]") {
		t.Errorf("APPEND: got %q, want [APPENDUID v 3]", r.text)
	}
	r = c.expect("OK", "UID COPY 1:2 INBOX")
	if !strings.HasPrefix(r.text, "[COPYUID ") {
		t.Errorf("COPY: got %q, want [COPYUID ...]", r.text)
	}
	c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
	mustHave(t, "UID EXPUNGE", c.ok("UID EXPUNGE 2"), "* 2 EXPUNGE")
	mustHave(t, "SEARCH", c.ok("UID SEARCH DELETED"), "* SEARCH 1 3")
}

func probeESearch(t *testing.T, e *env, c *client) {
	c.fresh("esearch", 3)
	lines := c.ok("SEARCH RETURN (MIN MAX COUNT) ALL")
	mustHave(t, "ESEARCH", lines, "* ESEARCH (TAG ", " MIN 1 MAX 3 COUNT 3")
}

func probeSearchRes(t *testing.T, e *env, c *client) {
	c.fresh("searchres", 3)
	c.ok(`SEARCH RETURN (SAVE) SUBJECT "searchres 2"`)
	mustHave(t, "FETCH $", c.ok("FETCH $ (UID)"), "* 2 FETCH (UID 2)")
}

func probeListExtended(t *testing.T, e *env, c *client) {
	c.ok("CREATE ext/child")
	c.ok("UNSUBSCRIBE ext")
	lines := c.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "ext*" RETURN (CHILDREN)`)
	mustHave(t, "LIST", lines, `"ext" (CHILDINFO ("SUBSCRIBED"))`, `\Subscribed) "/" "ext/child"`)
}

func probeListStatus(t *testing.T, e *env, c *client) {
	c.fresh("liststatus", 2)
	lines := c.ok(`LIST "" liststatus RETURN (STATUS (MESSAGES UNSEEN))`)
	mustHave(t, "LIST-STATUS", lines, `* LIST (\HasNoChildren) "/" "liststatus"`, `* STATUS "liststatus" (MESSAGES 2 UNSEEN 2)`)
}

func probeMove(t *testing.T, e *env, c *client) {
	c.fresh("move", 2)
	lines := c.ok("MOVE 1 Archive")
	mustHave(t, "MOVE", lines, "* OK [COPYUID ", "* 1 EXPUNGE")
}

func probeStatusSize(t *testing.T, e *env, c *client) {
	c.ok("CREATE size")
	msg := plainMsg("size", "twelve bytes")
	c.appendMsg("size", "", msg)
	want := fmt.Sprintf("SIZE %d", len(crlf(msg)))
	mustHave(t, "STATUS", c.ok("STATUS size (SIZE)"), want)
}

func probeBinary(t *testing.T, e *env, c *client) {
	c.ok("CREATE binary")
	c.appendMsg("binary", "", msgMultipart)
	c.ok("SELECT binary")
	lines := c.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])")
	mustHave(t, "FETCH", lines, "BINARY[2] ~{14}\r\nhello binary\x00\x01", "BINARY.SIZE[2] 14")
}

func probeChildren(t *testing.T, e *env, c *client) {
	c.ok("CREATE kids/one")
	lines := c.ok(`LIST "" kids*`)
	mustHave(t, "LIST", lines, `(\HasChildren) "/" "kids"`, `(\HasNoChildren) "/" "kids/one"`)
}

func probeSpecialUse(t *testing.T, e *env, c *client) {
	lines := c.ok(`LIST (SPECIAL-USE) "" "*"`)
	for _, want := range []string{`\Sent) "/" "Sent"`, `\Drafts) "/" "Drafts"`, `\Trash) "/" "Trash"`, `\Junk) "/" "Junk"`, `\Archive) "/" "Archive"`} {
		mustHave(t, "LIST (SPECIAL-USE)", lines, want)
	}
	mustNotHave(t, "LIST (SPECIAL-USE)", lines, `"INBOX"`)
}

func probeCreateSpecialUse(t *testing.T, e *env, c *client) {
	c.ok(`CREATE Receipts (USE (\Archive))`)
	mustHave(t, "LIST", c.ok(`LIST "" Receipts RETURN (SPECIAL-USE)`), `\Archive) "/" "Receipts"`)
	r := c.expect("NO", `CREATE Everything (USE (\All))`)
	if !strings.HasPrefix(r.text, "[USEATTR]") {
		t.Errorf("CREATE (USE (\\All)): got %q, want NO [USEATTR]", r.text)
	}
}

func probeUnauthenticate(t *testing.T, e *env, c *client) {
	c.ok("UNAUTHENTICATE")
	c.ok("LOGIN " + bob + " " + quote(password))
}

func probeAppendLimit(t *testing.T, e *env, c *client) {
	c.send("a1 APPEND INBOX {52428801}")
	if got := c.readLine(); !strings.HasPrefix(got, "a1 NO [TOOBIG]") {
		t.Errorf("APPEND over the limit: got %q, want a1 NO [TOOBIG]", got)
	}
	mustHave(t, "STATUS", c.ok("STATUS INBOX (APPENDLIMIT)"), "APPENDLIMIT 52428800")
}
