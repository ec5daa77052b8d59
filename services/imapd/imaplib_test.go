package imapd

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImaplib runs testdata/imaplib_session.py, a session of Python's
// imaplib, over implicit TLS and over STARTTLS.
func TestImaplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	for _, mode := range []string{"tls", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, secure)
			e.deliver(t, alice, msgPlain)
			e.deliver(t, alice, msgNested)
			ca := filepath.Join(t.TempDir(), "ca.pem")
			der := e.srv.opts.TLSConfig.Certificates[0].Certificate[0]
			if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := e.tlsAddr
			if mode == "starttls" {
				addr = e.addr
			}
			host, port, _ := strings.Cut(addr, ":")
			cmd := exec.Command(python, filepath.Join("testdata", "imaplib_session.py"))
			cmd.Env = append(os.Environ(), "IMAP_HOST="+host, "IMAP_PORT="+port, "IMAP_CAFILE="+ca,
				"IMAP_MODE="+mode, "IMAP_USER="+alice, "IMAP_PASS="+password)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "ok" {
				t.Fatalf("imaplib session: %v\n%s", err, out)
			}
		})
	}
}
