package appliance_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// crashAddr is a loopback address of its own, so the dev ports do not
// collide with a `make run` on 127.0.0.1.
const crashAddr = "127.0.0.77"

// TestCrashKill9 kills the core with SIGKILL while eight clients deliver
// mail, restarts it, and checks that every message that got a 250 is in
// its mailbox exactly once, and that the store opens as it is.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildFacteur(t)
	dir := t.TempDir()
	startTestDNS(t) // answers "no such domain" at once: SPF and DMARC find nothing
	srv := startBinary(t, bin, dir)
	run(t, bin, "admin-password-1\n", "setup", "-data", dir, "-domain", "crash.test", "-admin", "admin@crash.test")
	users := []string{"u1@crash.test", "u2@crash.test", "u3@crash.test", "u4@crash.test"}
	for _, u := range users {
		run(t, bin, "password-"+u+"\n", "user", "add", "-data", dir, u)
	}
	waitListening(t, crashAddr+":2525")

	acked := deliverUntilKilled(t, srv, users, 3000)

	srv = startBinary(t, bin, dir) // reopen the same data, no repair step
	defer stopBinary(srv)
	waitListening(t, crashAddr+":2993")
	for _, u := range users {
		got := subjects(t, u, "password-"+u)
		for subj := range acked[u] {
			if got[subj] != 1 {
				t.Errorf("%s: acknowledged message %q is there %d times, want once", u, subj, got[subj])
			}
		}
		for subj, n := range got {
			if n != 1 {
				t.Errorf("%s: message %q stored %d times", u, subj, n)
			}
		}
	}
}

func buildFacteur(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "facteur")
	out, err := exec.Command("go", "build", "-o", bin, "facteur/appliance/cmd/facteur").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startBinary(t *testing.T, bin, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "dev", "-data", dir, "-bind", crashAddr, "-resolver", dnsAddr+":53")
	logf, err := os.OpenFile(filepath.Join(dir, "core.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopBinary(cmd)
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "core.log"))
			t.Logf("core log:\n%s", log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", filepath.Join(dir, "ctl.sock")); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "core.log"))
	t.Fatalf("core did not start:\n%s", log)
	return nil
}

func stopBinary(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

func run(t *testing.T, bin, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("facteur %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

// deliverUntilKilled runs eight SMTP clients against the MX port and sends
// SIGKILL to the core once killAfter messages are acknowledged. It returns
// the acknowledged subjects per recipient.
func deliverUntilKilled(t *testing.T, srv *exec.Cmd, users []string, killAfter int) map[string]map[string]bool {
	var mu sync.Mutex
	acked := map[string]map[string]bool{}
	total := 0
	killed := make(chan struct{}) // closed just before the SIGKILL
	var once sync.Once
	kill := func() {
		once.Do(func() {
			close(killed)
			srv.Process.Kill() // SIGKILL
			srv.Wait()
		})
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(crashAddr + ":2525")
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for n := 0; ; n++ {
				rcpt := users[(w+n)%len(users)]
				subj := fmt.Sprintf("crash-%d-%d", w, n)
				msg := fmt.Sprintf("From: load@outside.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@outside.test>\r\n\r\n%s\r\n", rcpt, subj, subj, strings.Repeat("body line\r\n", 200))
				if err := sendOne(c, rcpt, msg); err != nil {
					select {
					case <-killed:
						return // expected: the server died mid-transaction
					default:
						t.Errorf("send before the kill: %v", err)
						return
					}
				}
				mu.Lock()
				if acked[rcpt] == nil {
					acked[rcpt] = map[string]bool{}
				}
				acked[rcpt][subj] = true
				total++
				if total == killAfter {
					go kill()
				}
				mu.Unlock()
			}
		}()
	}
	go func() {
		time.Sleep(2 * time.Minute) // bound the load even if it is slow
		kill()
	}()
	wg.Wait()
	kill()
	t.Logf("%d messages acknowledged before SIGKILL", total)
	if total < killAfter/2 {
		t.Fatalf("only %d messages acknowledged before the kill; the load did not run", total)
	}
	return acked
}

// subjects counts the messages in a user's INBOX by subject.
func subjects(t *testing.T, user, password string) map[string]int {
	t.Helper()
	c, err := imapclient.DialTLS(crashAddr+":2993", &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	if sel.NumMessages == 0 {
		return got
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		got[m.Envelope.Subject]++
	}
	if len(msgs) != int(sel.NumMessages) {
		t.Errorf("%s: FETCH returned %d messages, SELECT said %d", user, len(msgs), sel.NumMessages)
	}
	return got
}

// sendOne runs one transaction on an open connection (SendMail would QUIT).
func sendOne(c *smtp.Client, rcpt, msg string) error {
	if err := c.Mail("load@outside.test", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}
