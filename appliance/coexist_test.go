package appliance_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// TestPOP3AndIMAPShareInbox: a POP3 session and an IMAP session on the
// same INBOX see each other's deletions without corrupting the mailbox.
func TestPOP3AndIMAPShareInbox(t *testing.T) {
	dir := t.TempDir()
	core := startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-domain", "example.test", "-admin", "admin@example.test")
	facteur(t, "carol-password-1\n", "user", "add", "-data", dir, "carol@example.test")
	sc, err := smtp.Dial(core.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		msg := fmt.Sprintf("From: x@outside.test\r\nTo: carol@example.test\r\nSubject: m%d\r\n\r\nbody %d\r\n", i, i)
		if err := sendOne(sc, "carol@example.test", msg); err != nil {
			t.Fatal(err)
		}
	}
	sc.Close()

	updates := make(chan string, 16)
	ic, err := imapclient.DialTLS(core.Addr("imaps"), &imapclient.Options{
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Expunge: func(seq uint32) { updates <- fmt.Sprintf("EXPUNGE %d", seq) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("carol@example.test", "carol-password-1").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	// POP3 deletes messages 1 and 2 and commits with QUIT.
	pop := dialPOP3(t, core.Addr("pop3s"))
	pop.cmd("USER carol@example.test", "+OK")
	pop.cmd("PASS carol-password-1", "+OK")
	pop.cmd("STAT", "+OK 5 ")
	// Meanwhile IMAP expunges message 5, which POP3 still lists.
	if err := ic.Store(imap.SeqSetNum(5), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if seqs, err := ic.Expunge().Collect(); err != nil || len(seqs) != 1 || seqs[0] != 5 {
		t.Fatalf("EXPUNGE = %v, %v; want [5]", seqs, err)
	}
	pop.cmd("RETR 5", "-ERR")
	pop.cmd("DELE 1", "+OK")
	pop.cmd("DELE 2", "+OK")
	pop.cmd("QUIT", "+OK")

	// The IMAP session learns of the two POP3 deletions at its next NOOP.
	if err := ic.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		select {
		case u := <-updates:
			got = append(got, u)
		case <-time.After(10 * time.Second):
			t.Fatalf("IMAP updates = %v, want the two POP3 deletions", got)
		}
	}
	if want := []string{"EXPUNGE 1", "EXPUNGE 1"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("IMAP updates = %v, want %v", got, want)
	}
	st, err := ic.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || *st.NumUnseen != 2 {
		t.Errorf("STATUS INBOX = %d messages, %d unseen; want 2 and 2", *st.NumMessages, *st.NumUnseen)
	}
	pop = dialPOP3(t, core.Addr("pop3s"))
	pop.cmd("USER carol@example.test", "+OK")
	pop.cmd("PASS carol-password-1", "+OK")
	pop.cmd("STAT", "+OK 2 ")
	pop.cmd("TOP 1 0", "+OK")
	if hdr := pop.readMulti(); !strings.Contains(hdr, "Subject: m3") {
		t.Errorf("first message after the deletions = %q, want m3", hdr)
	}
	pop.cmd("QUIT", "+OK")
}

type popClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialPOP3(t *testing.T, addr string) *popClient {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &popClient{t: t, c: c, r: bufio.NewReader(c)}
	p.expect("+OK")
	return p
}

func (p *popClient) cmd(line, want string) {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	p.expect(want)
}

func (p *popClient) expect(want string) {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := p.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(got, want) {
		p.t.Fatalf("POP3 reply %q (%v), want %q...", got, err, want)
	}
}

func (p *popClient) readMulti() string {
	var b strings.Builder
	for {
		line, err := p.r.ReadString('\n')
		if err != nil || line == ".\r\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}
