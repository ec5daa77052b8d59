package smtpd

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// smuggle is a message whose first part ends in a fake end-of-data, followed
// by a second transaction that a lenient server would run.
func smuggle(end string) string {
	return "Subject: first\r\n\r\nfirst body" + end +
		"MAIL FROM:<evil@remote.example>\r\n" +
		"RCPT TO:<bob@example.com>\r\n" +
		"DATA\r\n" +
		"Subject: smuggled\r\n\r\nsmuggled body\r\n" +
		".\r\n"
}

var smugglingEnds = []struct{ name, end string }{
	{"LF.LF", "\n.\n"},
	{"CR.CR", "\r.\r"},
	{"CRLF.LF", "\r\n.\n"},
	{"LF.CRLF", "\n.\r\n"},
	{"CR.CRLF", "\r.\r\n"},
	{"LF.CR", "\n.\r"},
}

// go-smtp's DATA reader drops a line-initial ".\r" not followed by LF, so
// the checker never sees that lone CR. The commands after it stay text in
// the one message: no second transaction happens. If go-smtp changes this,
// the payload belongs in smugglingEnds.
func TestSmugglingDotCR(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send(smuggle("\r\n.\r"))
	c.expect("250 ")
	c.cmd("QUIT", "221 ")
	got := h.be.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	if env := got[0].Env; env.From != "sender@remote.example" || len(env.To) != 1 ||
		!strings.Contains(got[0].Data, "first body\r\nMAIL FROM:<evil@remote.example>\r\n") {
		t.Errorf("delivered %+v, want one message with the commands as text", got[0])
	}
}

// A client that stops sending in the middle of DATA gets 451 and 421 and
// is cut off; what it sends later is not read as commands.
func TestTimeoutInData(t *testing.T) {
	t.Parallel()
	// Long enough for the commands before DATA on a slow machine.
	h := start(t, func(o *Options) { o.ReadTimeout = 2 * time.Second })
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: slow\r\n\r\npartial")
	c.expect("451 4.3.0")
	// The rest of the message, as commands. The server may be gone already.
	io.WriteString(c.conn, "\r\nRSET\r\n")
	c.expect("421 4.4.2")
	c.expectClosed()
	if got := h.be.delivered(); len(got) != 0 {
		t.Errorf("delivered %+v, want nothing", got)
	}
}

func TestSmugglingDATA(t *testing.T) {
	for _, tt := range smugglingEnds {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil)
			c := dial(t, h.mx)
			c.cmd("EHLO client.example", "250 ")
			c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
			c.cmd("RCPT TO:<alice@example.com>", "250 ")
			c.cmd("DATA", "354 ")
			c.send(smuggle(tt.end))
			c.expect("550 5.6.11 bare LF or CR not allowed")
			// The next reply answers the next command, not a smuggled one.
			c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: clean\r\n\r\nclean\r\n")
			c.cmd("QUIT", "221 ")
			checkOnlyClean(t, h)
		})
	}
}

func TestSmugglingBDAT(t *testing.T) {
	for _, tt := range smugglingEnds {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil)
			c := dial(t, h.mx)
			c.cmd("EHLO client.example", "250 ")
			c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
			c.cmd("RCPT TO:<alice@example.com>", "250 ")
			msg := smuggle(tt.end)
			half := len(msg) / 2
			// The whole message is read, chunk by chunk, before the refusal.
			c.send(fmt.Sprintf("BDAT %d\r\n%s", half, msg[:half]))
			c.expect("250 ")
			c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg)-half, msg[half:]))
			c.expect("550 5.6.11")
			c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: clean\r\n\r\nclean\r\n")
			c.cmd("QUIT", "221 ")
			checkOnlyClean(t, h)
		})
	}
}

// checkOnlyClean checks that the only message stored is the clean one.
func checkOnlyClean(t *testing.T, h *harness) {
	t.Helper()
	got := h.be.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1: %+v", len(got), got)
	}
	data := got[0].Data
	if !strings.HasSuffix(data, "\r\nSubject: clean\r\n\r\nclean\r\n") ||
		strings.Contains(data, "evil") || strings.Contains(data, "smuggled") || got[0].Env.From != "sender@remote.example" {
		t.Errorf("delivered %+v, want only the clean message", got[0])
	}
}

func TestBDAT(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	part1 := "Subject: chunks\r\n\r\nfirst line\r"
	part2 := "\n.\r\nsecond line\r\n"
	c.send(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	c.expect("250 ")
	c.send(fmt.Sprintf("BDAT %d\r\n%s", len(part2), part2))
	c.expect("250 ")
	c.cmd("BDAT 0 LAST", "250 ")

	// Pipelined, in one write: BDAT LAST alone, then a second message.
	msg := "Subject: pipelined\r\n\r\nhi\r\n"
	c.send("MAIL FROM:<sender@remote.example>\r\nRCPT TO:<bob@example.com>\r\n" +
		fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg) + "QUIT\r\n")
	for _, want := range []string{"250 ", "250 ", "250 ", "221 "} {
		c.expect(want)
	}

	got := h.be.delivered()
	if len(got) != 2 {
		t.Fatalf("delivered %d messages, want 2", len(got))
	}
	if !strings.HasSuffix(got[0].Data, "\r\n"+part1+part2) {
		t.Errorf("first message %q, want it to end in %q", got[0].Data, part1+part2)
	}
	if !strings.HasSuffix(got[1].Data, "\r\n"+msg) || got[1].Env.To[0] != "bob@example.com" {
		t.Errorf("second message %+v", got[1])
	}
}

func TestBDATLoneCRAtEnd(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.send("BDAT 8 LAST\r\nSubject\r")
	c.expect("550 5.6.11")
	c.cmd("QUIT", "221 ")
	if got := h.be.delivered(); len(got) != 0 {
		t.Errorf("delivered %+v, want nothing", got)
	}
}

func TestSizeLimit(t *testing.T) {
	h := start(t, func(o *Options) { o.MaxMessageBytes = 1000 })
	c := dial(t, h.mx)
	if ehlo := c.cmd("EHLO client.example", "250 "); !strings.Contains(ehlo, "250-SIZE 1000\n") {
		t.Errorf("EHLO %q, want SIZE 1000", ehlo)
	}
	c.cmd("MAIL FROM:<sender@remote.example> SIZE=1001", "552 5.3.4")

	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789012345678901234567890123456789\r\n", 50)
	c.cmd("MAIL FROM:<sender@remote.example> SIZE=1000", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send(big + ".\r\n")
	c.expect("552 5.3.4")

	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.send(fmt.Sprintf("BDAT 600\r\n%s", big[:600]))
	c.expect("250 ")
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(big)-600, big[600:]))
	c.expect("552 5.3.4")

	c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: small\r\n\r\nok\r\n")
	got := h.be.delivered()
	if len(got) != 1 || !strings.Contains(got[0].Data, "Subject: small") {
		t.Errorf("delivered %+v, want only the small message", got)
	}
}

func TestDeliverFails(t *testing.T) {
	h := start(t, nil)
	h.be.set(func(b *fakeBackend) { b.deliverErr = errors.New("disk on fire") })
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	if got := c.expect("451 4.3.0 temporary failure, try again"); strings.Contains(got, "fire") {
		t.Errorf("reply %q reveals the error", got)
	}
	c.cmd("QUIT", "221 ")
	if !strings.Contains(h.logs.String(), "disk on fire") {
		t.Errorf("log lacks the backend error:\n%s", h.logs.String())
	}
}

// A panic in the backend ends that connection with 421; the server goes on.
func TestDeliverPanics(t *testing.T) {
	h := start(t, nil)
	h.be.set(func(b *fakeBackend) { b.panicRcpt = "bob@example.com" })
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	c.expect("421 ")
	c.expectClosed()

	c = dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: y\r\n\r\ny\r\n")
	// go-smtp logs the panic after it has sent the 421: wait for the line.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(h.logs.String(), "deliberate panic"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks the panic:\n%s", h.logs.String())
		}
	}
}

// DSN parameters (RFC 3461) and REQUIRETLS reach the Backend.
func TestDSNParameters(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example> RET=HDRS ENVID=abc+2Bdef REQUIRETLS", "250 ")
	c.cmd("RCPT TO:<alice@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;old+40example.com", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	c.expect("250 ")
	c.cmd("QUIT", "221 ")
	got := h.be.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	env := got[0].Env
	if env.Ret != "HDRS" || env.EnvID != "abc+def" || !env.RequireTLS {
		t.Errorf("envelope RET=%q ENVID=%q REQUIRETLS=%v, want HDRS, abc+def, true", env.Ret, env.EnvID, env.RequireTLS)
	}
	if len(env.Rcpts) != 2 {
		t.Fatalf("Rcpts = %+v, want 2", env.Rcpts)
	}
	if n := env.Rcpts[0].Notify; len(n) != 2 || n[0] != "FAILURE" || n[1] != "DELAY" {
		t.Errorf("NOTIFY = %q", n)
	}
	if o := env.Rcpts[0].ORcpt; !strings.EqualFold(o, "rfc822;old@example.com") {
		t.Errorf("ORCPT = %q", o)
	}
	if env.Rcpts[1].Notify != nil || env.Rcpts[1].ORcpt != "" {
		t.Errorf("second recipient has parameters %+v", env.Rcpts[1])
	}
}

// REQUIRETLS without TLS is refused.
func TestRequireTLSNeedsTLS(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example> REQUIRETLS", "5")
	c.cmd("QUIT", "221 ")
}

// A Refusal from the Backend becomes a permanent 550 5.7.1 with its text.
func TestDeliverRefuses(t *testing.T) {
	h := start(t, nil)
	h.be.set(func(b *fakeBackend) { b.deliverErr = &Refusal{Text: "DMARC policy of the sender's domain"} })
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	c.expect("550 5.7.1 DMARC policy of the sender's domain")
	c.cmd("QUIT", "221 ")
}
