package appliance_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur/internal/zonedns"
)

// Two boxes on the standard ports, each on its own loopback address, for
// two domains; a DNS server of the test's own serves the records each box
// says it publishes (facteur dns records).
const (
	dnsAddr = "127.0.0.30"
	boxAIP  = "127.0.0.31"
	boxBIP  = "127.0.0.32"
	thirdIP = "127.0.0.33" // a stranger on the internet
)

type box struct {
	t      *testing.T
	bin    string
	dir    string
	ip     string
	domain string
	cmd    *exec.Cmd
	logf   *os.File
}

func newBox(t *testing.T, bin, ip, domain string) *box {
	b := &box{t: t, bin: bin, dir: t.TempDir(), ip: ip, domain: domain}
	b.start()
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(b.dir, "core.log"))
			t.Logf("log of the box for %s:\n%s", domain, log)
		}
	})
	b.run("admin-password-1\n", "setup", "-data", b.dir, "-hostname", "mail."+domain, "-domain", domain,
		"-admin", "admin@"+domain, "-ip", ip)
	return b
}

// start runs `facteur serve` on the standard ports of b.ip.
func (b *box) start() {
	t := b.t
	t.Helper()
	cmd := exec.Command(b.bin, "serve", "-data", b.dir, "-bind", b.ip, "-resolver", dnsAddr+":53", "-retry-base", "1s")
	logf, err := os.OpenFile(filepath.Join(b.dir, "core.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.cmd, b.logf = cmd, logf
	waitListening(t, b.ip+":25")
	waitListening(t, b.ip+":993")
}

func (b *box) stop() {
	if b.cmd != nil {
		b.cmd.Process.Signal(syscall.SIGTERM)
		b.cmd.Wait()
		b.logf.Close()
		b.cmd = nil
	}
}

func (b *box) run(stdin string, args ...string) string {
	b.t.Helper()
	cmd := exec.Command(b.bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.t.Fatalf("facteur %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// records returns the zone the box publishes.
func (b *box) records() string { return b.run("", "dns", "records", "-data", b.dir) }

// testDNS serves records parsed from zone-file text on dnsAddr:53.
type testDNS struct{ zonedns.Server }

func startTestDNS(t *testing.T) *testDNS {
	d := &testDNS{}
	_, stop, err := d.Start(dnsAddr + ":53")
	if err != nil {
		t.Fatalf("test DNS: %v", err)
	}
	t.Cleanup(stop)
	return d
}

func (d *testDNS) load(t *testing.T, zone string) {
	if err := d.Load(zone); err != nil {
		t.Fatalf("zone from facteur dns records: %v\n%s", err, zone)
	}
}

// submit sends a message from user over box's submission port (587,
// STARTTLS, AUTH).
func submit(t *testing.T, b *box, user, password, rcpt, subject string) {
	t.Helper()
	c, err := smtp.DialStartTLS(b.ip+":587", &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, password)); err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d@%s>\r\n\r\nHello from the other box.\r\n",
		user, rcpt, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), b.domain)
	if err := c.SendMail(user, []string{rcpt}, strings.NewReader(msg)); err != nil {
		t.Fatalf("submit %s → %s: %v", user, rcpt, err)
	}
	c.Quit()
}

// fetchAll returns the INBOX messages of user at box, whole.
func fetchAll(t *testing.T, b *box, user, password string) []string {
	t.Helper()
	return fetchMailbox(t, b, user, password, "INBOX")
}

func fetchMailbox(t *testing.T, b *box, user, password, mailbox string) []string {
	t.Helper()
	c, err := imapclient.DialTLS(b.ip+":993", &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.FindBodySection(section)))
	}
	return out
}

// waitMessage waits until user's INBOX holds a message containing subject.
func waitMessage(t *testing.T, b *box, user, password, subject string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, m := range fetchAll(t, b, user, password) {
			if strings.Contains(m, "Subject: "+subject) {
				return m
			}
		}
	}
	t.Fatalf("%s never received %q", user, subject)
	return ""
}

func header(msg, name string) []string {
	var out []string
	hdr, _, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(hdr, "\r\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			l += " " + strings.TrimSpace(lines[i])
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// startTwoBoxes runs box A (a.test, user alice) and box B (b.test, user
// bob) and serves the records both publish; a.test's DMARC policy is
// dmarcA if not "".
func startTwoBoxes(t *testing.T, dmarcA string) (a, b *box, d *testDNS) {
	if testing.Short() {
		t.Skip("builds and runs two boxes")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for port 25 and 53")
	}
	bin := buildFacteur(t)
	d = startTestDNS(t)
	a = newBox(t, bin, boxAIP, "a.test")
	b = newBox(t, bin, boxBIP, "b.test")
	a.run("alice-password-1\n", "user", "add", "-data", a.dir, "alice@a.test")
	b.run("bob-password-1\n", "user", "add", "-data", b.dir, "bob@b.test")
	if dmarcA != "" {
		a.run("", "dns", "dmarc", "-data", a.dir, "a.test", dmarcA)
	}
	d.load(t, a.records())
	d.load(t, b.records())
	return a, b, d
}

// strangerToB opens an SMTP session from a third address to B's port 25.
func strangerToB(t *testing.T) *smtp.Client {
	t.Helper()
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(thirdIP)}}
	conn, err := dialer.Dial("tcp", boxBIP+":25")
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("stranger.example"); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTwoBoxes(t *testing.T) {
	a, b, d := startTwoBoxes(t, "reject")

	t.Run("delivery with SPF, DKIM, DMARC", func(t *testing.T) {
		submit(t, a, "alice@a.test", "alice-password-1", "bob@b.test", "first contact")
		msg := waitMessage(t, b, "bob@b.test", "bob-password-1", "first contact")
		ar := strings.Join(header(msg, "Authentication-Results"), "\n")
		for _, want := range []string{"mail.b.test", "spf=pass", "dkim=pass", "dmarc=pass"} {
			if !strings.Contains(ar, want) {
				t.Errorf("Authentication-Results %q lacks %q", ar, want)
			}
		}
		if n := len(header(msg, "DKIM-Signature")); n != 2 {
			t.Errorf("%d DKIM signatures, want 2 (ed25519 and rsa)", n)
		}
		verifyWithPython(t, d, msg)
	})

	t.Run("forged sender refused for DMARC", func(t *testing.T) {
		c := strangerToB(t)
		msg := "From: alice@a.test\r\nTo: bob@b.test\r\nSubject: wire the money\r\n\r\nUrgent.\r\n"
		err := c.SendMail("alice@a.test", []string{"bob@b.test"}, strings.NewReader(msg))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || !strings.Contains(se.Message, "DMARC") {
			t.Fatalf("forged message: %v, want 550 5.7.1 naming DMARC", err)
		}
		for _, m := range fetchAll(t, b, "bob@b.test", "bob-password-1") {
			if strings.Contains(m, "wire the money") {
				t.Error("the forged message was stored")
			}
		}
	})

	t.Run("forged Authentication-Results removed", func(t *testing.T) {
		c := strangerToB(t)
		msg := "Authentication-Results: mail.b.test; dkim=pass header.d=bank.test; dmarc=pass\r\n" +
			"Authentication-Results: other.example; spf=pass\r\n" +
			"From: stranger@outside.test\r\nTo: bob@b.test\r\nSubject: trust me\r\n\r\nHi.\r\n"
		if err := c.SendMail("stranger@outside.test", []string{"bob@b.test"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
		got := waitMessage(t, b, "bob@b.test", "bob-password-1", "trust me")
		ars := header(got, "Authentication-Results")
		ours := 0
		for _, ar := range ars {
			if strings.HasPrefix(ar, "mail.b.test") {
				ours++
				if strings.Contains(ar, "bank.test") || strings.Contains(ar, "dkim=pass") {
					t.Errorf("the forged result survived: %q", ar)
				}
			}
		}
		if ours != 1 || len(ars) != 2 {
			t.Errorf("Authentication-Results %q: want ours once and the foreign one kept", ars)
		}
	})

	t.Run("DMARC quarantine files a forgery in Junk", func(t *testing.T) {
		// b.test publishes the default policy, quarantine.
		c := strangerToB(t)
		msg := "From: boss@b.test\r\nTo: bob@b.test\r\nSubject: gift cards please\r\n\r\nBuy some.\r\n"
		if err := c.SendMail("boss@b.test", []string{"bob@b.test"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("quarantined message refused: %v", err)
		}
		junk := fetchMailbox(t, b, "bob@b.test", "bob-password-1", "Junk")
		if len(junk) != 1 || !strings.Contains(junk[0], "gift cards") {
			t.Fatalf("Junk holds %d messages, want the forgery", len(junk))
		}
		ar := strings.Join(header(junk[0], "Authentication-Results"), " ")
		if !strings.Contains(ar, "dmarc=fail") || !strings.Contains(ar, "spf=fail") {
			t.Errorf("Authentication-Results %q, want dmarc=fail and spf=fail", ar)
		}
	})

	t.Run("queued while B is down, delivered when it is back", func(t *testing.T) {
		b.stop()
		submit(t, a, "alice@a.test", "alice-password-1", "bob@b.test", "while you were out")
		var list string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			list = a.run("", "queue", "list", "-data", a.dir)
			if queueAttempts(list, "bob@b.test") >= 2 {
				break
			}
		}
		if queueAttempts(list, "bob@b.test") < 2 || !strings.Contains(list, "NEXT ATTEMPT") {
			t.Fatalf("queue list after B went down:\n%s", list)
		}
		t.Logf("queue while B is down:\n%s", list)
		b.start()
		waitMessage(t, b, "bob@b.test", "bob-password-1", "while you were out")
		waitQueueEmpty(t, a)
	})

	t.Run("unknown user bounces to the sender", func(t *testing.T) {
		submit(t, a, "alice@a.test", "alice-password-1", "nobody@b.test", "to a ghost")
		dsn := waitMessage(t, a, "alice@a.test", "alice-password-1", "Delivery failed")
		ct := strings.Join(header(dsn, "Content-Type"), " ")
		for _, want := range []string{"multipart/report", "report-type=delivery-status"} {
			if !strings.Contains(ct, want) {
				t.Errorf("bounce Content-Type %q lacks %q", ct, want)
			}
		}
		for _, want := range []string{"Final-Recipient: rfc822; nobody@b.test", "Action: failed", "Status: 5.1.1",
			"Remote-MTA: dns; mail.b.test", "Subject: to a ghost", "MAILER-DAEMON@mail.a.test"} {
			if !strings.Contains(dsn, want) {
				t.Errorf("bounce lacks %q:\n%s", want, dsn)
			}
		}
		checkBounceStructure(t, a)
		waitQueueEmpty(t, a)
	})

	t.Run("NOTIFY=SUCCESS reaches the final box, which reports delivery", func(t *testing.T) {
		c, err := smtp.DialStartTLS(boxAIP+":587", &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "alice@a.test", "alice-password-1")); err != nil {
			t.Fatal(err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(c.Mail("alice@a.test", &smtp.MailOptions{EnvelopeID: "track-me-1", Return: smtp.DSNReturnHeaders}))
		must(c.Rcpt("bob@b.test", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}}))
		w, err := c.Data()
		must(err)
		fmt.Fprintf(w, "From: alice@a.test\r\nTo: bob@b.test\r\nSubject: tell me when\r\nMessage-ID: <dsn-1@a.test>\r\n\r\nHi.\r\n")
		must(w.Close())
		c.Quit()
		waitMessage(t, b, "bob@b.test", "bob-password-1", "tell me when")
		rep := waitMessage(t, a, "alice@a.test", "alice-password-1", "Delivered")
		for _, want := range []string{"Reporting-MTA: dns; mail.b.test", "Original-Envelope-Id: track-me-1",
			"Final-Recipient: rfc822; bob@b.test", "Action: delivered", "Status: 2.0.0", "Subject: tell me when"} {
			if !strings.Contains(rep, want) {
				t.Errorf("delivery report lacks %q:\n%s", want, rep)
			}
		}
	})

	t.Run("smarthost", func(t *testing.T) {
		b.run("relay-password-1\n", "user", "add", "-data", b.dir, "relay@b.test")
		b.run("", "user", "sendas", "-data", b.dir, "relay@b.test", "@a.test")
		a.run("relay-password-1\n", "smarthost", "set", "-data", a.dir, "-user", "relay@b.test", "-insecure", boxBIP+":587")
		submit(t, a, "alice@a.test", "alice-password-1", "bob@b.test", "via the relay")
		msg := waitMessage(t, b, "bob@b.test", "bob-password-1", "via the relay")
		received := strings.Join(header(msg, "Received"), "\n")
		if !strings.Contains(received, "ESMTPSA") {
			t.Errorf("message did not come through B's authenticated submission; Received:\n%s", received)
		}
		a.run("", "smarthost", "clear", "-data", a.dir)
	})

	t.Run("queue lifetime", func(t *testing.T) {
		a.run("", "queue", "lifetime", "-data", a.dir, "7")
		for _, bad := range []string{"0", "31", "x"} {
			out, err := exec.Command(a.bin, "queue", "lifetime", "-data", a.dir, bad).CombinedOutput()
			if err == nil {
				t.Errorf("queue lifetime %s accepted: %s", bad, out)
			}
		}
		// The queue still delivers after the restart the setting caused.
		submit(t, a, "alice@a.test", "alice-password-1", "bob@b.test", "after lifetime change")
		waitMessage(t, b, "bob@b.test", "bob-password-1", "after lifetime change")
	})
}

// queueAttempts reads the ATTEMPTS column of the entry for rcpt.
func queueAttempts(list, rcpt string) int {
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 6 && f[2] == rcpt {
			n := 0
			fmt.Sscan(f[6], &n)
			return n
		}
	}
	return 0
}

func waitQueueEmpty(t *testing.T, b *box) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if strings.Count(b.run("", "queue", "list", "-data", b.dir), "\n") == 1 {
			return
		}
	}
	t.Errorf("queue not empty:\n%s", b.run("", "queue", "list", "-data", b.dir))
}

// checkBounceStructure asks the IMAP server for the bounce's structure, as
// a mail client does to show it as a delivery report.
func checkBounceStructure(t *testing.T, b *box) {
	c, err := imapclient.DialTLS(b.ip+":993", &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@a.test", "alice-password-1").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.Envelope.Subject, "Delivery failed") {
			continue
		}
		mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
		if !ok || !strings.EqualFold(mp.Subtype, "report") || len(mp.Children) != 3 {
			t.Fatalf("bounce structure %#v, want multipart/report with 3 parts", m.BodyStructure)
		}
		if ext := mp.Extended; ext == nil || !strings.EqualFold(ext.Params["report-type"], "delivery-status") {
			t.Errorf("bounce report-type params %+v", mp.Extended)
		}
		if st := mp.Children[1].MediaType(); !strings.EqualFold(st, "message/delivery-status") {
			t.Errorf("second part %s, want message/delivery-status", st)
		}
		return
	}
	t.Fatal("no bounce in the INBOX")
}

// verifyWithPython checks every DKIM signature with python3-dkim.
func verifyWithPython(t *testing.T, d *testDNS, msg string) {
	t.Helper()
	py := "/usr/bin/python3" // Debian's, which has python3-dkim
	if _, err := os.Stat(py); err != nil {
		t.Skip("Debian's python3 is not installed")
	}
	dir := t.TempDir()
	msgPath, recPath := filepath.Join(dir, "msg.eml"), filepath.Join(dir, "records.json")
	// Our own Authentication-Results and Received fields came after the
	// signature; python verifies the message as box A sent it.
	rec, _ := json.Marshal(d.TXT())
	os.WriteFile(msgPath, []byte(msg), 0o600)
	os.WriteFile(recPath, rec, 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/dkimverify.py", msgPath, recPath).CombinedOutput()
	t.Logf("python3-dkim:\n%s", out)
	if err != nil {
		t.Errorf("python3-dkim does not verify box A's signatures: %v", err)
	}
	if strings.Count(string(out), ": pass") != 2 {
		t.Errorf("want two passing signatures (ed25519-sha256 and rsa-sha256)")
	}
}
