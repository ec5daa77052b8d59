package mailauth

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonWithDKIM returns a python3 that can import dkim (Debian's
// python3-dkim, with python3-nacl for Ed25519). Debian's own interpreter
// comes first: a python3 earlier in PATH (pyenv, a venv) lacks Debian's
// modules. It skips the test only if there is no python3 at all.
func pythonWithDKIM(t *testing.T) string {
	t.Helper()
	var found []string
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		found = append(found, path)
		if exec.Command(path, "-c", "import dkim, nacl").Run() == nil {
			return path
		}
	}
	if len(found) == 0 {
		t.Skip("python3 not installed")
	}
	t.Fatalf("%v cannot import dkim and nacl: install python3-dkim and python3-nacl (make deps)", found)
	return ""
}

// TestPythonVerifies has an independent DKIM implementation, python3-dkim,
// verify our signatures: each key type alone, both together, and a message
// altered after signing (which must fail, or the check proves nothing).
func TestPythonVerifies(t *testing.T) {
	python := pythonWithDKIM(t)
	ks := keys(t)
	msg := message("alice@example.org", lunchBody)
	tests := []struct {
		name   string
		keys   []Key
		alter  func(string) string
		passes bool
	}{
		{"ed25519", ks[:1], nil, true},
		{"rsa", ks[1:], nil, true},
		{"both", ks, nil, true},
		{"ed25519 altered", ks[:1], func(m string) string { return strings.Replace(m, "Alice\r\n", "Mallory\r\n", 1) }, false},
		{"rsa altered", ks[1:], func(m string) string { return strings.Replace(m, "Lunch", "Brunch", 1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signed(t, msg, tt.keys)
			if tt.alter != nil {
				m = tt.alter(m)
			}
			file := filepath.Join(t.TempDir(), "msg.eml")
			if err := os.WriteFile(file, []byte(m), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"testdata/dkimverify.py", file}
			for _, k := range tt.keys {
				name, text := k.Record()
				args = append(args, name, text)
			}
			out, err := exec.Command(python, args...).CombinedOutput()
			if passed := err == nil; passed != tt.passes {
				t.Errorf("python3-dkim passed = %v, want %v; output:\n%s", passed, tt.passes, out)
			}
			if tt.passes && strings.Count(string(out), "pass") != len(tt.keys) {
				t.Errorf("want %d passing signatures, output:\n%s", len(tt.keys), out)
			}
		})
	}
}
