package appliance_test

import (
	"os/exec"
	"strings"
	"testing"
)

// swaks runs Debian's swaks (installed by make test) and returns its
// transcript and whether it succeeded.
func swaks(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Fatal("swaks is needed for this test (make test installs it)")
	}
	out, err := exec.Command("swaks", args...).CombinedOutput()
	return string(out), err == nil
}

// TestSwaksSubmissionAndQuota sends with an outside SMTP client over
// STARTTLS with AUTH, then fills a mailbox past its quota: the MX then
// answers 452 4.2.2 so the sender retries later.
func TestSwaksSubmissionAndQuota(t *testing.T) {
	dir := t.TempDir()
	core := startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-domain", "example.test", "-admin", "admin@example.test")
	facteur(t, "dave-password-1\n", "user", "add", "-data", dir, "dave@example.test")
	facteur(t, "", "user", "quota", "-data", dir, "dave@example.test", "1K")

	out, ok := swaks(t, "--server", core.Addr("submission"), "--tls", "--auth", "PLAIN",
		"--auth-user", "admin@example.test", "--auth-password", "admin-password-1",
		"--from", "admin@example.test", "--to", "dave@example.test", "--body", strings.Repeat("quota filler\n", 200))
	if !ok || !strings.Contains(out, "250 2.0.0") {
		t.Fatalf("swaks submission failed:\n%s", out)
	}
	out, ok = swaks(t, "--server", core.Addr("smtp"), "--from", "x@outside.test", "--to", "dave@example.test")
	if ok || !strings.Contains(out, "452 4.2.2") {
		t.Errorf("delivery to a full mailbox: want 452 4.2.2, got:\n%s", out)
	}
	if out := facteur(t, "", "user", "list", "-data", dir); !strings.Contains(out, "1024") {
		t.Errorf("user list does not show the quota:\n%s", out)
	}
}
