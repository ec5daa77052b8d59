package imapd

import (
	"slices"
	"strings"
	"testing"
)

// Mailboxes belong to one account and names are looked up in the
// logged-in account only: no name reaches another account's mailboxes.

// othersNames are names that would point at alice's mailboxes in servers
// with shared or other-users namespaces.
var othersNames = []string{
	"Private",
	`"alice@example.org/INBOX"`,
	`"alice@example.org/Private"`,
	`"../alice@example.org/INBOX"`,
	`"#user/alice/INBOX"`,
	`"~alice/Private"`,
	`"user/alice/Private"`,
	`"Other Users/alice/INBOX"`,
}

// authzEnv gives alice a mailbox Private holding a secret, and logs bob in
// with one message of his own selected.
func authzEnv(t *testing.T) (e *env, a, b *client) {
	t.Helper()
	e = newEnv(t)
	e.deliver(t, alice, plainMsg("alice's secret", "the secret"))
	a = e.login(t, alice)
	a.ok("CREATE Private")
	a.appendMsg("Private", "", plainMsg("alice's secret", "the secret"))
	e.deliver(t, bob, plainMsg("bob's own", "bob"))
	b = e.selected(t, bob, "INBOX")
	return e, a, b
}

func TestOtherAccountsMailboxesAreUnreachable(t *testing.T) {
	_, a, b := authzEnv(t)
	for _, name := range othersNames {
		t.Run(name, func(t *testing.T) {
			b.run(t, []step{
				{cmd: "STATUS " + name + " (MESSAGES)", status: "NO", code: "NONEXISTENT"},
				{cmd: "EXAMINE " + name, status: "NO", code: "NONEXISTENT"},
				{cmd: "SELECT INBOX", status: "OK"},
				{cmd: "COPY 1 " + name, status: "NO", code: "TRYCREATE"},
				{cmd: "MOVE 1 " + name, status: "NO", code: "TRYCREATE"},
				{cmd: "RENAME " + name + " Stolen", status: "NO", code: "NONEXISTENT"},
				{cmd: "DELETE " + name, status: "NO", code: "NONEXISTENT"},
				{cmd: "SUBSCRIBE " + name, status: "NO", code: "NONEXISTENT"},
			})
			if r := b.appendMsg(name, "", plainMsg("planted", "x")); r.status != "NO" || !strings.HasPrefix(r.text, "[TRYCREATE]") {
				t.Errorf("APPEND %s: got %s %s, want NO [TRYCREATE]", name, r.status, r.text)
			}
		})
	}
	// Alice's mailboxes are as they were.
	mustHave(t, "alice STATUS", a.ok("STATUS Private (MESSAGES)"), "MESSAGES 1")
	mustHave(t, "alice STATUS", a.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 1")
	for _, box := range []string{"Stolen", "Private"} {
		if got := names(b.ok(`LIST "" "*"`)); slices.Contains(got, box) {
			t.Errorf("bob's LIST: got %q, want no %s", got, box)
		}
	}
}

func TestLookalikeNamesAreOwnMailboxes(t *testing.T) {
	// Bob may create mailboxes named like alice's paths: they are his,
	// empty, and alice's messages do not show through them.
	_, a, b := authzEnv(t)
	for _, name := range othersNames {
		b.ok("CREATE " + name)
		r := b.expect("OK", "SELECT "+name)
		mustHave(t, "SELECT "+name, r.lines, "* 0 EXISTS")
		mustHave(t, "SEARCH", b.ok("SEARCH TEXT secret"), "* SEARCH")
		mustNotHave(t, "SEARCH", b.ok("SEARCH ALL"), "* SEARCH 1")
	}
	b.ok("SELECT INBOX")
	mustNotHave(t, "bob FETCH", b.ok("FETCH 1:* BODY.PEEK[]"), "secret")
	mustHave(t, "bob SEARCH", b.ok("SEARCH TEXT secret"), "* SEARCH")
	// Alice sees none of them.
	got := names(a.ok(`LIST "" "*"`))
	for _, n := range got {
		if n != "Private" && !slices.Contains(defaultBoxes, n) {
			t.Errorf("alice's LIST: got %q, want none of bob's mailboxes", got)
			break
		}
	}
}

func TestSameNameDifferentAccounts(t *testing.T) {
	e, a, b := authzEnv(t)
	b.ok("CREATE Private")
	b.appendMsg("Private", "(\\Seen)", plainMsg("bob private", "b"))
	b.ok("SELECT Private")
	mustHave(t, "bob FETCH", b.ok("FETCH 1:* BODY.PEEK[HEADER.FIELDS (Subject)]"), "Subject: bob private")
	mustNotHave(t, "bob FETCH", b.ok("FETCH 1:* BODY.PEEK[]"), "secret")
	// A flag change or expunge by bob does not reach alice's Private.
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	a.ok("SELECT Private")
	mustHave(t, "alice FETCH", a.ok("FETCH 1 FLAGS"), "* 1 FETCH (FLAGS ())")
	// Deliveries to bob do not show in alice's views, even in IDLE.
	a.ok("SELECT INBOX")
	e.deliver(t, bob, msgPlain)
	if lines := a.ok("NOOP"); len(lines) != 0 {
		t.Errorf("alice NOOP after a delivery to bob: got %q, want nothing", lines)
	}
}
