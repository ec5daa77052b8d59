package mailbench

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// Timeouts of the clients: no wait in mailbench is unbounded.
const (
	dialTimeout = 10 * time.Second
	smtpTimeout = 2 * time.Minute
	// imapIdle bounds the silence of an IMAP server within one command; a
	// SEARCH of a large mailbox may think that long before answering.
	imapIdle = 5 * time.Minute
)

// Sender is the envelope sender of every generated message.
const Sender = "load@client.test"

// dialSMTP opens an SMTP session and says EHLO.
func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = smtpTimeout, smtpTimeout
	if err := c.Hello("client.test"); err != nil {
		c.Close()
		return nil, fmt.Errorf("smtp %s: %w", addr, err)
	}
	return c, nil
}

// sendOne sends msg to rcpt on an open session.
func sendOne(c *smtp.Client, rcpt string, msg []byte) error {
	if err := c.Mail(Sender, nil); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

// idleConn gives every Read and Write a fresh deadline, so a server that
// stops answering fails the command instead of hanging it.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

// dialIMAP logs u in over implicit TLS. The servers' certificates are
// self-signed: they are not checked.
func dialIMAP(addr string, u User, opts *imapclient.Options) (*imapclient.Client, error) {
	raw, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	conn := tls.Client(&idleConn{Conn: raw, idle: imapIdle}, &tls.Config{ServerName: host, InsecureSkipVerify: true})
	c := imapclient.New(conn, opts)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap %s greeting: %w", addr, err)
	}
	if err := c.Login(u.Addr, u.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap %s login: %w", addr, err)
	}
	return c, nil
}

// probe checks that a system takes mail for u over SMTP and lets u log in
// over IMAP.
func probe(smtpAddr, imapAddr string, u User) error {
	c, err := dialSMTP(smtpAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(Sender, nil); err != nil {
		return err
	}
	if err := c.Rcpt(u.Addr, nil); err != nil {
		return err
	}
	if err := c.Reset(); err != nil {
		return err
	}
	c.Quit()
	ic, err := dialIMAP(imapAddr, u, nil)
	if err != nil {
		return err
	}
	defer ic.Close()
	return ic.Logout().Wait()
}

// inboxCount returns the number of messages in u's INBOX (STATUS).
func inboxCount(c *imapclient.Client) (uint32, error) {
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, err
	}
	if st.NumMessages == nil {
		return 0, fmt.Errorf("STATUS without MESSAGES")
	}
	return *st.NumMessages, nil
}

// subjectSeqs fetches the Subject of messages 1..n of the selected mailbox
// and returns the generated sequence number of each, indexed by IMAP
// sequence number - 1.
func subjectSeqs(c *imapclient.Client, n uint32) ([]int, error) {
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	var set imap.SeqSet
	set.AddRange(1, n)
	cmd := c.Fetch(set, &imap.FetchOptions{Envelope: true})
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		buf, err := m.Collect()
		if err != nil {
			cmd.Close()
			return nil, err
		}
		if buf.Envelope == nil || buf.SeqNum < 1 || buf.SeqNum > n {
			continue
		}
		if seq, ok := SeqFromSubject(buf.Envelope.Subject); ok {
			out[buf.SeqNum-1] = seq
		}
	}
	return out, cmd.Close()
}
