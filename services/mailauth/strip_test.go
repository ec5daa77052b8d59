package mailauth

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func strip(t *testing.T, r io.Reader) string {
	t.Helper()
	out, err := io.ReadAll(StripAuthResults(r, ourHost))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(out)
}

func TestStripAuthResults(t *testing.T) {
	const body = "\r\nAuthentication-Results: mx.facteur.test; spf=pass\r\nbody  \r\n"
	tests := []struct {
		name, in, want string
	}{
		{"forged removed",
			"Authentication-Results: mx.facteur.test; spf=pass smtp.mailfrom=example.org\r\nSubject: x\r\n",
			"Subject: x\r\n"},
		{"case-insensitive",
			"Subject: x\r\nauthentication-results : MX.Facteur.TEST; dkim=pass\r\n",
			"Subject: x\r\n"},
		{"folded, continuation lines go too",
			"Subject: x\r\nAuthentication-Results:\r\n mx.facteur.test;\r\n\tspf=pass\r\n\tdmarc=pass\r\nTo: y\r\n",
			"Subject: x\r\nTo: y\r\n"},
		{"comment before the id",
			"Authentication-Results: (ours (really)) mx.facteur.test 1; none\r\nTo: y\r\n",
			"To: y\r\n"},
		{"quoted id",
			"Authentication-Results: \"mx.facteur.test\"; none\r\nTo: y\r\n",
			"To: y\r\n"},
		{"foreign kept",
			"Authentication-Results: mx.example.net; spf=pass\r\nTo: y\r\n",
			"Authentication-Results: mx.example.net; spf=pass\r\nTo: y\r\n"},
		{"longer name kept",
			"Authentication-Results: mx.facteur.test.example.net; spf=pass\r\n",
			"Authentication-Results: mx.facteur.test.example.net; spf=pass\r\n"},
		{"other field name kept",
			"X-Authentication-Results: mx.facteur.test; spf=pass\r\n",
			"X-Authentication-Results: mx.facteur.test; spf=pass\r\n"},
		{"several, in between",
			"A: 1\r\nAuthentication-Results: mx.facteur.test; a=b\r\nB: 2\r\nAuthentication-Results: mx.facteur.test; c=d\r\n\tfolded\r\nC: 3\r\n",
			"A: 1\r\nB: 2\r\nC: 3\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strip(t, strings.NewReader(tt.in+body)); got != tt.want+body {
				t.Errorf("got %q, want %q", got, tt.want+body)
			}
			// The same a byte at a time.
			if got := strip(t, iotest.OneByteReader(strings.NewReader(tt.in+body))); got != tt.want+body {
				t.Errorf("one byte reads: got %q, want %q", got, tt.want+body)
			}
		})
	}
}

func TestStripAuthResultsLineEndings(t *testing.T) {
	tests := []struct{ in, want string }{
		// LF only, and a last line without a line ending.
		{"Authentication-Results: mx.facteur.test; x\nA: 1\n\nbody\nend", "A: 1\n\nbody\nend"},
		// A header without a body or an empty line.
		{"A: 1\r\nAuthentication-Results: mx.facteur.test; x", "A: 1\r\n"},
		{"", ""},
		// The body is never parsed, however it looks.
		{"\nAuthentication-Results: mx.facteur.test; x\n", "\nAuthentication-Results: mx.facteur.test; x\n"},
	}
	for _, tt := range tests {
		if got := strip(t, strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("strip(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripAuthResultsReadError(t *testing.T) {
	r := &failingReader{data: "A: 1\r\nB: 2"}
	_, err := io.ReadAll(StripAuthResults(r, ourHost))
	if err == nil || err == io.EOF {
		t.Errorf("got %v, want the reader's error", err)
	}
}

// TestStripThenCheck is the order the MX uses: forged results go, ours
// come, and our signature survives the stripping.
func TestStripThenCheck(t *testing.T) {
	e := newEnv(t)
	msg := signed(t, message("alice@example.org", lunchBody), keys(t))
	forged := "Authentication-Results: " + ourHost + "; dmarc=pass header.from=bank.example\r\n"
	vd, err := e.v.Check(t.Context(), fromOrg(senderIP), StripAuthResults(strings.NewReader(forged+msg), ourHost))
	if err != nil {
		t.Fatal(err)
	}
	if vd.DMARC != "pass" || len(vd.DKIM) != 2 || vd.DKIM[0].Result != "pass" || vd.DKIM[1].Result != "pass" {
		t.Errorf("DMARC %q DKIM %+v, want pass and two passes", vd.DMARC, vd.DKIM)
	}
}
