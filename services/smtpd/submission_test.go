package smtpd

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func TestSubmissionBeforeTLS(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.sub)
	ehlo := c.cmd("EHLO client.example", "250 ")
	caps := capabilities(ehlo)
	if !slices.Contains(caps, "STARTTLS") || slices.Contains(caps, "AUTH") {
		t.Errorf("EHLO before TLS %q, want STARTTLS and no AUTH", ehlo)
	}
	c.authPlain("alice@example.com", alicePass, "538 5.7.11 encryption required")
	c.cmd("AUTH LOGIN", "538 5.7.11")
	c.cmd("MAIL FROM:<alice@example.com>", "530 5.7.0 authentication required")
	c.cmd("RCPT TO:<bob@example.com>", "502 ")
	c.cmd("QUIT", "221 ")
	if got := h.authFailures(); len(got) != 0 {
		t.Errorf("AuthFailed called for %q, want no calls", got)
	}
}

func TestSubmissionAfterTLS(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.sub)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	ehlo := c.cmd("EHLO client.example", "250 ")
	if !strings.Contains(ehlo, "250-AUTH PLAIN LOGIN") || slices.Contains(capabilities(ehlo), "STARTTLS") {
		t.Errorf("EHLO after TLS %q, want AUTH PLAIN LOGIN and no STARTTLS", ehlo)
	}
	c.cmd("MAIL FROM:<alice@example.com>", "530 5.7.0")
	c.cmd("AUTH CRAM-MD5", "504 5.5.4")
	// Acting for another user is not supported, even with the right password.
	c.cmd("AUTH PLAIN "+b64("bob@example.com\x00alice@example.com\x00"+alicePass), "535 5.7.8")
	c.authPlain("alice@example.com", alicePass, "235 ")
	c.cmd("AUTH PLAIN", "503 ") // already authenticated
	c.cmd("MAIL FROM:<bob@example.com>", "553 5.7.1 sender address not owned")
	c.cmd("MAIL FROM:<>", "553 5.7.1")
	c.cmd("MAIL FROM:<sales@example.com>", "250 ")
	c.cmd("RCPT TO:<nobody@example.com>", "550 5.1.1 no such user")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("RCPT TO:<friend@elsewhere.example>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: hello\r\n\r\nhi\r\n.\r\n")
	c.expect("250 ")
	c.cmd("QUIT", "221 ")

	got := h.be.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	env := got[0].Env
	if env.Account != "alice@example.com" || !env.Submission || env.From != "sales@example.com" ||
		!slices.Equal(env.To, []string{"bob@example.com", "friend@elsewhere.example"}) {
		t.Errorf("envelope %+v", env)
	}
	if !regexp.MustCompile(`with ESMTPSA \(using TLS 1\.3 `).MatchString(got[0].Data) {
		t.Errorf("message %q, want ESMTPSA", got[0].Data)
	}
	if got := h.authFailures(); !slices.Equal(got, []string{"127.0.0.1 alice@example.com"}) {
		t.Errorf("AuthFailed calls %q, want one for alice", got)
	}
}

func TestSubmissionWrongPassword(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.sub)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c.authPlain("alice@example.com", "wrong-password", "535 5.7.8 authentication failed")
	c.authPlain("alice@example.com", alicePass, "235 ") // failures do not lock out
	c.cmd("QUIT", "221 ")

	c = dial(t, h.sub)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c.authPlain("mallory@example.com", "wrong-password", "535 5.7.8")
	c.cmd("AUTH LOGIN "+b64("mallory@example.com"), "334 "+b64("Password:"))
	c.cmd(b64("wrong-password"), "535 5.7.8")
	c.authPlain("alice@example.com", "wrong-password", "535 5.7.8")
	c.expectClosed()

	want := []string{
		"127.0.0.1 alice@example.com",
		"127.0.0.1 mallory@example.com",
		"127.0.0.1 mallory@example.com",
		"127.0.0.1 alice@example.com",
	}
	if got := h.authFailures(); !slices.Equal(got, want) {
		t.Errorf("AuthFailed calls %q, want %q", got, want)
	}
}

func TestSubmissionAuthLogin(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.sub)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("AUTH LOGIN", "334 "+b64("Username:"))
	c.cmd(b64("bob@example.com"), "334 "+b64("Password:"))
	c.cmd(b64(bobPass), "235 ")
	c.submit("bob@example.com", []string{"alice@example.com"}, "Subject: login\r\n\r\nhi\r\n")
}

func TestSubmissionAuthErrors(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.sub)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c.authPlain("broken@example.com", "whatever", "454 4.7.0 temporary authentication failure")
	c.cmd("AUTH PLAIN "+b64("nonsense"), "454 ") // malformed PLAIN message
	c.cmd("AUTH LOGIN", "334 ")
	c.cmd("*", "501 ") // cancelled
	if got := h.authFailures(); len(got) != 0 {
		t.Errorf("AuthFailed called for %q, want no calls", got)
	}
	// The failures above did not count towards closing the connection.
	c.authPlain("alice@example.com", alicePass, "235 ")
	c.cmd("MAIL FROM:<alice@example.com>", "250 ")
	c.cmd("QUIT", "221 ")
}

func TestSubmissionsImplicitTLS(t *testing.T) {
	h := start(t, nil)
	c := dialTLS(t, h.subs)
	ehlo := c.cmd("EHLO client.example", "250 ")
	if !strings.Contains(ehlo, "250-AUTH PLAIN LOGIN") || slices.Contains(capabilities(ehlo), "STARTTLS") {
		t.Errorf("EHLO %q, want AUTH PLAIN LOGIN and no STARTTLS", ehlo)
	}
	c.cmd("MAIL FROM:<alice@example.com>", "530 5.7.0")
	c.authPlain("alice@example.com", alicePass, "235 ")
	c.submit("alice@example.com", []string{"friend@elsewhere.example"}, "Subject: 465\r\n\r\nhi\r\n")
	if got := h.be.delivered(); len(got) != 1 || !strings.Contains(got[0].Data, "with ESMTPSA") {
		t.Errorf("delivered %+v, want one message with ESMTPSA", got)
	}
}

// TestSubmissionGoClient sends with go-smtp's own client: STARTTLS, AUTH
// PLAIN, SMTPUTF8.
func TestSubmissionGoClient(t *testing.T) {
	h := start(t, nil)
	c, err := smtp.DialStartTLS(h.sub, testCerts().client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.com", alicePass)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.com", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("jösé@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Subject: Grüße\r\n\r\n.dot\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	got := h.be.delivered()
	if len(got) != 1 || !got[0].Env.UTF8 || !strings.HasSuffix(got[0].Data, "\r\nSubject: Grüße\r\n\r\n.dot\r\n") ||
		!strings.Contains(got[0].Data, "with UTF8SMTPSA") || !strings.Contains(got[0].Data, "for <jösé@example.com>") {
		t.Errorf("delivered %+v", got)
	}
}
