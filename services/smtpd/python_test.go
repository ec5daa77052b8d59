package smtpd

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPython sends with Python's smtplib (testdata/send.py) on each
// listener and checks what the backend got.
func TestPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	h := start(t, nil)
	cafile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(cafile, testCerts().pem, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		with   string // protocol in Received; "" if nothing is delivered
	}{
		{"mx", []string{"mx", port(h.mx), cafile, "sender@remote.example", "alice@example.com"}, 0, "ESMTP"},
		{"submission PLAIN", []string{"submission", port(h.sub), cafile, "alice@example.com", "friend@elsewhere.example",
			"alice@example.com", alicePass, "PLAIN"}, 0, "ESMTPSA"},
		{"submission LOGIN", []string{"submission", port(h.sub), cafile, "bob@example.com", "alice@example.com",
			"bob@example.com", bobPass, "LOGIN"}, 0, "ESMTPSA"},
		{"submissions", []string{"submissions", port(h.subs), cafile, "sales@example.com", "bob@example.com",
			"alice@example.com", alicePass, "PLAIN"}, 0, "ESMTPSA"},
		{"wrong password", []string{"submissions", port(h.subs), cafile, "bob@example.com", "alice@example.com",
			"bob@example.com", "wrong-password", "LOGIN"}, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.be.delivered())
			cmd := exec.Command(python, append([]string{"testdata/send.py"}, tt.args...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case errors.As(err, &exit) && exit.ExitCode() == tt.status:
			case err != nil:
				t.Fatalf("send.py: %v\n%s", err, out)
			case tt.status != 0:
				t.Fatalf("send.py succeeded, want exit status %d\n%s", tt.status, out)
			}
			got := h.be.delivered()[before:]
			if tt.with == "" {
				if len(got) != 0 {
					t.Errorf("delivered %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("delivered %d messages, want 1\n%s", len(got), out)
			}
			checkPythonMessage(t, got[0], tt.args, tt.with)
		})
	}
	if n := len(h.authFailures()); n != 1 {
		t.Errorf("AuthFailed called %d times, want 1", n)
	}
}

func checkPythonMessage(t *testing.T, d delivery, args []string, with string) {
	t.Helper()
	from, to := args[3], args[4]
	if d.Env.From != from || len(d.Env.To) != 1 || d.Env.To[0] != to || d.Env.Helo != "client.example" {
		t.Errorf("envelope %+v, want %s to %s from client.example", d.Env, from, to)
	}
	received := regexp.MustCompile(`^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n` +
		`\tby mx\.example\.com with ` + with + `( \(using TLS 1\.3 with cipher \w+\))?\r\n` +
		`\tid [A-Z2-7]{16} for <` + regexp.QuoteMeta(to) + `>;\r\n` +
		`\tFri, 02 Jan 2026 15:04:05 \+0000\r\n`)
	if !received.MatchString(d.Data) {
		t.Errorf("message does not start with the Received header %v:\n%q", received, d.Data)
	}
	for _, want := range []string{"\r\nSubject: smtplib " + args[0] + "\r\n", "\r\n.a line that starts with a dot\r\n"} {
		if !strings.Contains(d.Data, want) {
			t.Errorf("message lacks %q:\n%q", want, d.Data)
		}
	}
}

func port(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}
