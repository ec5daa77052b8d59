package firewall

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// These tests apply policies for real, each in fresh network namespaces
// (see netns_test.go), and check the result with Debian's nft as an
// outside witness.

// needNft skips the test unless Debian's nftables package is installed.
func needNft(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("skipping: the outside check needs nft (apt-get install nftables)")
	}
}

var counterValues = regexp.MustCompile(`packets \d+ bytes \d+`)

// listedTable returns the facteur table from `nft list ruleset` inside the
// namespace, counters set to zero.
func listedTable(t *testing.T, n *netns) string {
	t.Helper()
	out, err := n.exec("nft", "list", "ruleset")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(out, "table inet "+TableName+" {\n")
	if start < 0 {
		t.Fatalf("nft list ruleset has no table inet %s:\n%s", TableName, out)
	}
	out = out[start:]
	if end := strings.Index(out, "\n}\n"); end >= 0 {
		out = out[:end+3]
	}
	return counterValues.ReplaceAllString(out, "packets 0 bytes 0")
}

// TestSystemRenderIsWhatNftLists applies each golden policy and checks that
// nft lists exactly what Render printed, and that nft compiles Render's
// text to the very expressions Build sent.
func TestSystemRenderIsWhatNftLists(t *testing.T) {
	needNetNS(t)
	needNft(t)
	for name, p := range goldenPolicies(t) {
		t.Run(name, func(t *testing.T) {
			box, ref := newNetNS(t, "box"), newNetNS(t, "ref")
			if err := Apply(box.conn(t), p, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := listedTable(t, box), Render(p); got != want {
				t.Errorf("nft lists:\n%s", lineDiff(want, got))
			}
			file := writeTemp(t, Render(p))
			if out, err := ref.exec("nft", "-f", file); err != nil {
				t.Fatalf("nft -f cannot load Render's text: %v\n%s", err, out)
			}
			built, err := box.exec("nft", "--debug=netlink", "list", "table", "inet", TableName)
			if err != nil {
				t.Fatal(err)
			}
			compiled, err := ref.exec("nft", "--debug=netlink", "list", "table", "inet", TableName)
			if err != nil {
				t.Fatal(err)
			}
			if built != compiled {
				t.Errorf("Build's expressions differ from nft's for the same text:\n%s", lineDiff(compiled, built))
			}
		})
	}
}

func writeTemp(t *testing.T, text string) string {
	t.Helper()
	f := t.TempDir() + "/ruleset.nft"
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSystemApplyIsIdempotent applies the same policy twice and then a
// different one, next to a table that belongs to someone else.
func TestSystemApplyIsIdempotent(t *testing.T) {
	needNetNS(t)
	needNft(t)
	box := newNetNS(t, "box")
	if out, err := box.exec("nft", "add table inet other; add chain inet other c { type filter hook input priority 10; }; add rule inet other c tcp dport 9 counter accept"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	other, err := box.exec("nft", "list", "table", "inet", "other")
	if err != nil {
		t.Fatal(err)
	}
	ps := goldenPolicies(t)
	c := box.conn(t)
	for i, name := range []string{"office", "office", "everything", "closed", "office"} {
		if err := Apply(c, ps[name], nil); err != nil {
			t.Fatalf("apply %d (%s): %v", i, name, err)
		}
		if got, want := listedTable(t, box), Render(ps[name]); got != want {
			t.Errorf("after apply %d (%s), nft lists:\n%s", i, name, lineDiff(want, got))
		}
	}
	if got, _ := box.exec("nft", "list", "table", "inet", "other"); got != other {
		t.Errorf("the other table changed:\nwas\n%s\nis\n%s", other, got)
	}
}

// TestSystemFailedApplyKeepsOldTable forces an invalid message into the
// batch that would replace the table, and checks that nothing changed.
func TestSystemFailedApplyKeepsOldTable(t *testing.T) {
	needNetNS(t)
	needNft(t)
	box := newNetNS(t, "box")
	ps := goldenPolicies(t)
	c := box.conn(t)
	if err := Apply(c, ps["office"], nil); err != nil {
		t.Fatal(err)
	}
	before := listedTable(t, box)
	for _, tc := range []struct {
		name  string
		spoil func(c *nftables.Conn) error
	}{
		{"jump to a missing chain", func(c *nftables.Conn) error {
			c.AddRule(&nftables.Rule{Table: table(), Chain: &nftables.Chain{Table: table(), Name: "input"},
				Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "nowhere"}}})
			return nil
		}},
		{"element of the wrong size", func(c *nftables.Conn) error {
			return c.SetAddElements(&nftables.Set{Table: table(), Name: "lan4"},
				[]nftables.SetElement{{Key: []byte{1, 2, 3, 4, 5, 6, 7, 8}}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Build(c, ps["everything"], nil); err != nil {
				t.Fatal(err)
			}
			if err := tc.spoil(c); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err == nil {
				t.Fatal("the spoilt batch was accepted")
			}
			if got := listedTable(t, box); got != before {
				t.Errorf("after a failed apply the table changed:\n%s", lineDiff(before, got))
			}
		})
	}
}
