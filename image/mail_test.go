package image

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/smtp"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const (
	adminAddr = "admin@example.test"
	adminPass = "a-long-admin-password"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// completeWizard opens the setup link from the console and walks every
// step of the wizard up to "review and apply", as a person would.
func (v *vm) completeWizard() {
	v.t.Helper()
	cl, _ := v.openWizard()
	steps := []struct {
		step string
		form url.Values
	}{
		{"admin", url.Values{"admin": {adminAddr}, "password": {adminPass}, "password2": {adminPass}}},
		{"domain", url.Values{"domain": {"example.test"}, "hostname": {"mail.example.test"}}},
		{"network", url.Values{"mode": {"dhcp"}}},
		{"timezone", url.Values{"timezone": {"UTC"}}},
		{"tls", url.Values{"tls": {"self"}}},
		{"dnsmode", url.Values{"dnsmode": {"own"}}},
		{"review", url.Values{}},
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/setup/", v.ports[80])
	for _, s := range steps {
		page := v.get(cl, base+s.step)
		m := csrfRE.FindStringSubmatch(page)
		if m == nil {
			v.t.Fatalf("wizard step %s: no form in %.300q", s.step, page)
		}
		s.form.Set("csrf", m[1])
		resp, err := cl.PostForm(base+s.step, s.form)
		if err != nil {
			v.t.Fatalf("wizard step %s: %v", s.step, err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			v.t.Fatalf("wizard step %s: HTTP %d: %.500s", s.step, resp.StatusCode, b.String())
		}
	}
	v.t.Logf("setup wizard completed for %s", adminAddr)
}

func (v *vm) get(cl *http.Client, u string) string {
	v.t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String()
}

// deliver sends a message from the internet to the admin over SMTP port
// 25 (STARTTLS, the box's self-signed certificate accepted).
func (v *vm) deliver(subject string) {
	v.t.Helper()
	var err error
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if err = v.trySend(subject); err == nil {
			return
		}
		time.Sleep(3 * time.Second)
	}
	v.t.Fatalf("deliver %q: %v", subject, err)
}

func (v *vm) trySend(subject string) error {
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", v.ports[25]))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("sender.example.org"); err != nil {
		return err
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		return err
	}
	if err := sendTo(c, "someone@example.org", adminAddr, subject, "kept across updates"); err != nil {
		return err
	}
	return c.Quit()
}

// sendTo sends one message on an open SMTP session; nil means the server
// acknowledged it.
func sendTo(c *smtp.Client, from, to, subject, body string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%d@example.org>\r\n\r\n%s\r\n", from, to, subject, time.Now().UnixNano(), body)
	return w.Close()
}

// subjects lists the subjects in the admin's INBOX over IMAP (STARTTLS).
func (v *vm) subjects() []string {
	v.t.Helper()
	c, err := imapclient.DialStartTLS(fmt.Sprintf("127.0.0.1:%d", v.ports[143]), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		v.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(adminAddr, adminPass).Wait(); err != nil {
		v.t.Fatalf("IMAP login: %v", err)
	}
	data, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		v.t.Fatal(err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imapSeq(data.NumMessages), &imapFetchEnvelope).Collect()
	if err != nil {
		v.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Envelope.Subject)
	}
	return out
}

// hasMail checks that the INBOX holds a message with subject.
func (v *vm) hasMail(subject, when string) {
	v.t.Helper()
	got := v.subjects()
	if !strings.Contains(strings.Join(got, "\n"), subject) {
		v.t.Errorf("%s: INBOX subjects %q, want %q", when, got, subject)
	}
}

var imapFetchEnvelope = imap.FetchOptions{Envelope: true}

func imapSeq(n uint32) imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(1, n)
	return s
}
