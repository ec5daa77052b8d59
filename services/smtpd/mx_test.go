package smtpd

import (
	"bufio"
	"crypto/tls"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// capabilities returns the EHLO keywords of an EHLO reply.
func capabilities(reply string) []string {
	var caps []string
	for _, line := range strings.Split(reply, "\n")[1:] {
		caps = append(caps, strings.Fields(line[4:])[0])
	}
	return caps
}

func TestMXCapabilities(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	ehlo := c.cmd("EHLO client.example", "250 ")
	caps := capabilities(ehlo)
	for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES", "SIZE", "STARTTLS", "DSN"} {
		if !slices.Contains(caps, want) {
			t.Errorf("EHLO lacks %s: %q", want, ehlo)
		}
	}
	for _, unwanted := range []string{"AUTH", "REQUIRETLS", "BINARYMIME"} {
		if slices.Contains(caps, unwanted) {
			t.Errorf("EHLO offers %s: %q", unwanted, ehlo)
		}
	}
	if !strings.Contains(ehlo, "250-SIZE 52428800") {
		t.Errorf("EHLO reply %q, want SIZE 52428800", ehlo)
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+alicePass), "502 5.5.1")

	c.starttls()
	ehlo = c.cmd("EHLO client.example", "250 ")
	caps = capabilities(ehlo)
	if slices.Contains(caps, "STARTTLS") || slices.Contains(caps, "AUTH") {
		t.Errorf("EHLO over TLS on MX offers STARTTLS or AUTH: %q", ehlo)
	}
	if !slices.Contains(caps, "REQUIRETLS") {
		t.Errorf("EHLO over TLS lacks REQUIRETLS: %q", ehlo)
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+alicePass), "502 5.5.1")
	c.cmd("QUIT", "221 ")
	if got := h.authFailures(); len(got) != 0 {
		t.Errorf("AuthFailed called for %q, want no calls", got)
	}
}

func TestMXRefusals(t *testing.T) {
	h := start(t, nil)
	tests := []struct {
		name string
		mail string
		rcpt string
		want string
	}{
		{"relay", "<someone@remote.example>", "<victim@elsewhere.example>", "554 5.7.1 relay access denied"},
		{"relay from a local sender", "<alice@example.com>", "<victim@elsewhere.example>", "554 5.7.1 relay access denied"},
		{"unknown user", "<someone@remote.example>", "<nobody@example.com>", "550 5.1.1 no such user"},
		{"lookup fails", "<someone@remote.example>", "<lookup-fails@example.com>", "451 4.3.0 temporary failure"},
		{"non-ASCII without SMTPUTF8", "<someone@remote.example>", "<jösé@example.com>", "553 5.6.7"},
		{"control character", "<someone@remote.example>", "<ali\x01ce@example.com>", "501 5.1.3"},
		{"percent hack", "<someone@remote.example>", "<victim%elsewhere.example@example.com>", "550 5.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, h.mx)
			c.cmd("EHLO client.example", "250 ")
			c.cmd("MAIL FROM:"+tt.mail, "250 ")
			c.cmd("RCPT TO:"+tt.rcpt, tt.want)
			c.cmd("DATA", "502 ") // no recipient accepted
			c.cmd("QUIT", "221 ")
		})
	}
	if got := h.be.delivered(); len(got) != 0 {
		t.Errorf("delivered %d messages, want none", len(got))
	}
}

func TestMXBadSender(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<bad\x7fsender@remote.example>", "553 5.1.7")
	c.cmd("MAIL FROM:<jösé@remote.example>", "553 5.6.7")
	c.cmd("MAIL FROM:<jösé@remote.example> SMTPUTF8", "250 ")
}

func TestMXDelivery(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.submit("", []string{"alice@example.com"}, "Subject: bounce\r\n\r\nnull sender\r\n..dot\r\n")
	c.cmd("MAIL FROM:<sender@remote.example> BODY=8BITMIME SIZE=100 SMTPUTF8", "250 ")
	c.cmd("RCPT TO:<jösé@example.com>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: caf\xc3\xa9\r\n\r\nbody\r\n.\r\n")
	c.expect("250 ")
	c.cmd("QUIT", "221 ")

	got := h.be.delivered()
	if len(got) != 2 {
		t.Fatalf("delivered %d messages, want 2", len(got))
	}
	first := got[0]
	if first.Env.From != "" || first.Env.Submission || first.Env.Account != "" || first.Env.Helo != "client.example" {
		t.Errorf("first envelope %+v, want null sender, MX, no account", first.Env)
	}
	wantHeader := regexp.MustCompile(`^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n` +
		`\tby mx\.example\.com with ESMTP\r\n` +
		`\tid [A-Z2-7]{16} for <alice@example\.com>;\r\n` +
		`\tFri, 02 Jan 2026 15:04:05 \+0000\r\n` +
		`Subject: bounce\r\n\r\nnull sender\r\n\.dot\r\n$`)
	if !wantHeader.MatchString(first.Data) {
		t.Errorf("first message:\n%q\nwant it to match %v", first.Data, wantHeader)
	}
	if id := first.Env.ID; len(id) != 16 || !strings.Contains(first.Data, "\tid "+id+" for") ||
		!strings.Contains(h.logs.String(), "id="+id) {
		t.Errorf("Envelope.ID %q, want the id of the Received header and the log", id)
	}
	second := got[1]
	if !slices.Equal(second.Env.To, []string{"jösé@example.com", "bob@example.com"}) ||
		!second.Env.UTF8 || second.Env.Body != "8BITMIME" || second.Env.Size != 100 {
		t.Errorf("second envelope %+v, want two recipients, SMTPUTF8, 8BITMIME, SIZE 100", second.Env)
	}
	if !strings.Contains(second.Data, "with UTF8SMTP\r\n\tid ") || strings.Contains(second.Data, " for <") {
		t.Errorf("second message %q, want UTF8SMTP and no for clause", second.Data)
	}
}

func TestMXReceivedOverTLS(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: tls\r\n\r\nhi\r\n")
	got := h.be.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	want := regexp.MustCompile(`\tby mx\.example\.com with ESMTPS \(using TLS 1\.3 with cipher TLS_[A-Z0-9_]+\)\r\n`)
	if !want.MatchString(got[0].Data) {
		t.Errorf("message %q, want ESMTPS and the TLS comment", got[0].Data)
	}
}

// A HELO name full of header syntax must not reach the header as it is.
func TestMXHeloInjection(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("HELO evil\rX-Injected:(yes)", "250 ")
	c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: x\r\n\r\nx\r\n")
	got := h.be.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	if !strings.HasPrefix(got[0].Data, "Received: from invalid ([127.0.0.1])\r\n") ||
		strings.Contains(got[0].Data, "Injected") {
		t.Errorf("message %q, want the HELO name replaced", got[0].Data)
	}
	if got[0].Env.Helo != "evil\rX-Injected:(yes)" {
		t.Errorf("Envelope.Helo %q, want the HELO argument as sent", got[0].Env.Helo)
	}
}

// Commands sent in plaintext right after STARTTLS must not run inside the
// TLS session (CVE-2011-0411).
func TestSTARTTLSInjection(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.send("STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n")
	c.expect("220 ")
	tc := tls.Client(c.conn, testCerts().client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	// The first reply over TLS answers this EHLO, not the injected MAIL.
	c.cmd("EHLO client.example", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "502 ") // no MAIL yet
	c.cmd("QUIT", "221 ")
}

func TestRecipientLimit(t *testing.T) {
	h := start(t, func(o *Options) { o.MaxRecipients = 2 })
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("RCPT TO:<postmaster@example.com>", "452 4.5.3")
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	c.expect("250 ")
	if got := h.be.delivered(); len(got) != 1 || len(got[0].Env.To) != 2 {
		t.Errorf("delivered %+v, want one message to two recipients", got)
	}
}
