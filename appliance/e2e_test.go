package appliance_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"facteur/appliance"
	"facteur/appliance/cli"
	"facteur/appliance/ctl"
)

// startCore runs a core in-process on free loopback ports and returns it
// once every listener is up.
func startCore(t *testing.T, dir string) *appliance.Core {
	t.Helper()
	return runCore(t, appliance.Options{DataDir: dir, Bind: "127.0.0.1"})
}

// runCore runs a core in-process with opts (its Logger and Ready are the
// test's) until the test ends; the log is shown if the test fails.
func runCore(t *testing.T, opts appliance.Options) *appliance.Core {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *appliance.Core, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	opts.Ready = func(c *appliance.Core) { ready <- c }
	go func() { done <- appliance.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("core log:\n%s", logs.String())
		}
	})
	select {
	case c := <-ready:
		return c
	case err := <-done:
		t.Fatalf("core did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("core did not start in 30s")
	}
	return nil
}

// facteur runs a CLI command in-process with stdin and returns its output.
func facteur(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := cli.Main(args, env); code != 0 {
		t.Fatalf("facteur %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// TestNewUserSession sets a box up with the CLI as an admin would, then
// drives a first day of mail with Python's smtplib, imaplib and poplib.
func TestNewUserSession(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed for this test (make test installs it)")
	}
	dir := t.TempDir()
	core := startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	facteur(t, "alice-password-1\n", "user", "add", "-data", dir, "alice@example.test")
	facteur(t, "bob-password-1\n", "user", "add", "-data", dir, "bob@example.test")
	if out := facteur(t, "", "user", "list", "-data", dir); !strings.Contains(out, "alice@example.test") || !strings.Contains(out, "admin") {
		t.Errorf("user list = %q", out)
	}

	cmd := exec.Command("python3", "testdata/newuser_session.py")
	cmd.Env = append(os.Environ(), "ALICE=alice@example.test", "ALICE_PW=alice-password-1", "BOB=bob@example.test", "BOB_PW=bob-password-1")
	for _, svc := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		cmd.Env = append(cmd.Env, "FACTEUR_"+strings.ToUpper(svc)+"="+core.Addr(svc))
	}
	out, err := cmd.CombinedOutput()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("session script failed: %v", err)
	}

	var st appliance.Status
	if err := ctl.Call(appliance.CtlPath(dir), "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.AuthFailed["smtp"] < 1 || st.AuthFailed["imap"] < 1 {
		t.Errorf("failed logins counted = %v, want smtp and imap at least 1", st.AuthFailed)
	}
	if !st.SetupDone || st.Hostname != "mail.example.test" {
		t.Errorf("status = %+v", st)
	}
}

// TestCLIDisableAccount: a disabled account cannot log in, says user
// list; enabled again, it can.
func TestCLIDisableAccount(t *testing.T) {
	dir := t.TempDir()
	core := startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	facteur(t, "alice-password-1\n", "user", "add", "-data", dir, "alice@example.test")
	facteur(t, "", "user", "disable", "-data", dir, "alice@example.test")
	if out := facteur(t, "", "user", "list", "-data", dir); !strings.Contains(out, "user (disabled)") {
		t.Errorf("user list after disable = %q", out)
	}
	imapLogin(t, core, "alice@example.test", "alice-password-1", false)
	facteur(t, "", "user", "enable", "-data", dir, "alice@example.test")
	imapLogin(t, core, "alice@example.test", "alice-password-1", true)
}

// TestCLIWithoutCore: the admin commands say plainly that no core runs.
func TestCLIWithoutCore(t *testing.T) {
	var out, errb bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := cli.Main([]string{"domain", "list", "-data", t.TempDir()}, env)
	if code == 0 || !strings.Contains(errb.String(), "not running") {
		t.Errorf("exit %d, stderr %q; want an error saying the core is not running", code, errb.String())
	}
}
