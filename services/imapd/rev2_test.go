package imapd

import (
	"testing"
)

// TestRev1AndRev2 runs the commands whose replies differ once a client
// has sent ENABLE IMAP4rev2 (RFC 9051 appendix E), on one connection of
// each kind.
func TestRev1AndRev2(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, alice, msgPlain)
	e.deliver(t, alice, msgNested)
	setup := e.login(t, alice)
	setup.ok(`CREATE "Caf&AOk-"`)
	setup.ok("SELECT INBOX")
	setup.ok(`STORE 1 +FLAGS (\Seen)`)
	tests := []struct {
		cmd        string
		rev1, rev2 []string // lines that must be there
		not1, not2 []string // lines that must not
	}{
		{cmd: "SELECT INBOX",
			rev1: []string{"* 0 RECENT", "* OK [UNSEEN 2]"}, not1: []string{"* LIST"},
			rev2: []string{`* LIST (\HasNoChildren) "/" INBOX`}, not2: []string{"RECENT", "[UNSEEN"}},
		{cmd: "SEARCH UNSEEN",
			rev1: []string{"* SEARCH 2"}, not1: []string{"ESEARCH"},
			rev2: []string{`* ESEARCH (TAG "a4") ALL 2`}, not2: []string{"* SEARCH"}},
		{cmd: "UID SEARCH ALL",
			rev1: []string{"* SEARCH 1 2"},
			rev2: []string{`* ESEARCH (TAG "a5") UID ALL 1:2`}},
		{cmd: `LIST "" "Caf*"`,
			rev1: []string{`"Caf&AOk-"`},
			rev2: []string{`"Café"`}},
		{cmd: `STATUS "Caf&AOk-" (MESSAGES)`,
			rev1: []string{`* STATUS "Caf&AOk-" (MESSAGES 0)`},
			rev2: []string{`* STATUS "Café" (MESSAGES 0)`}},
		{cmd: "FETCH 2 ENVELOPE",
			rev1: []string{`"Fwd: Lunch on Friday"`},
			rev2: []string{`"Fwd: Lunch on Friday"`}},
	}
	for _, rev := range []string{"IMAP4rev1", "IMAP4rev2"} {
		t.Run(rev, func(t *testing.T) {
			c := e.login(t, alice)
			if rev == "IMAP4rev2" {
				c.ok("ENABLE IMAP4rev2")
			} else {
				c.ok("NOOP") // keep the tags the same in both runs
			}
			for _, tt := range tests {
				lines := c.ok(tt.cmd)
				want, not := tt.rev1, tt.not1
				if rev == "IMAP4rev2" {
					want, not = tt.rev2, tt.not2
				}
				mustHave(t, tt.cmd, lines, want...)
				mustNotHave(t, tt.cmd, lines, not...)
			}
		})
	}
}
