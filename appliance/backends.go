package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"facteur/services/mailstore"
	"facteur/services/pop3d"
	"facteur/services/queue"
	"facteur/services/smtpd"
)

// smtpBackend adapts the store to smtpd.Backend.
type smtpBackend struct {
	store *mailstore.Store
	now   func() time.Time
	// kick, if set, wakes the outbound queue after a message for it.
	kick func()
	// check, if set, authenticates mail arriving on the MX port (SPF,
	// DKIM, DMARC) before it is stored.
	check *inboundCheck
	// bounce, if set, sends delivery reports (NOTIFY=SUCCESS) from
	// hostname.
	bounce   func(ctx context.Context, to string, msg []byte) error
	hostname string
	log      *slog.Logger
	metrics  *msgMetrics // counts messages in and out for the dashboard
}

func (b *smtpBackend) Recipient(ctx context.Context, addr string) (smtpd.RecipientKind, error) {
	r, err := b.store.Resolve(ctx, addr)
	switch {
	case errors.Is(err, mailstore.ErrNotLocal):
		return smtpd.Remote, nil
	case errors.Is(err, mailstore.ErrUnknownUser), errors.Is(err, mailstore.ErrInvalid), errors.Is(err, mailstore.ErrTooManyLevels):
		return smtpd.Unknown, nil
	case err != nil:
		return smtpd.Unknown, err
	}
	// A single local account over quota: ask the sender to retry. (For an
	// alias with several targets, the others still get it.)
	if len(r.Accounts) == 1 && len(r.Remote) == 0 {
		ok, err := b.store.QuotaAllows(ctx, r.Accounts[0], 1)
		if err != nil {
			return smtpd.Unknown, err
		}
		if !ok {
			return smtpd.Full, nil
		}
	}
	return smtpd.Local, nil
}

func (b *smtpBackend) Authenticate(ctx context.Context, username, password string) (string, error) {
	acct, err := b.store.Authenticate(ctx, username, password)
	if errors.Is(err, mailstore.ErrAuthFailed) {
		return "", smtpd.ErrAuthFailed
	}
	if err != nil {
		return "", err
	}
	return acct.Address, nil
}

func (b *smtpBackend) MaySendAs(ctx context.Context, account, from string) (bool, error) {
	if from == "" {
		return true, nil // bounces and notifications use the null sender
	}
	acct, err := b.store.Account(ctx, account)
	if err != nil {
		return false, err
	}
	return b.store.Owns(ctx, acct, from)
}

// Deliver resolves every recipient and stores the message once: local
// accounts get it in their INBOX, remote addresses (submission, or aliases
// that forward out) go to the outbound queue, in the same durable write.
// Mail from the internet is first checked (SPF, DKIM, DMARC): a DMARC
// reject refuses it, a quarantine files it in Junk.
func (b *smtpBackend) Deliver(ctx context.Context, env *smtpd.Envelope, body io.Reader) error {
	mailbox := ""
	if b.check != nil && !env.Submission {
		checked, err := b.check.run(ctx, env, body)
		if err != nil {
			return err
		}
		defer checked.Close()
		body, mailbox = checked, checked.mailbox
	}
	var head *headCapture
	if wantsSuccess(env) {
		head = &headCapture{}
		body = io.TeeReader(body, head)
	}
	var targets []mailstore.Target
	var local []string
	seen := map[uint64]bool{}
	out := &mailstore.Outbound{From: env.From}
	for _, rcpt := range env.To {
		r, err := b.store.Resolve(ctx, rcpt)
		if errors.Is(err, mailstore.ErrNotLocal) && env.Submission {
			out.To = append(out.To, mailstore.NormalizeAddress(rcpt))
			continue
		}
		if err != nil {
			return fmt.Errorf("resolve %s: %w", rcpt, err)
		}
		if len(r.Accounts) > 0 {
			local = append(local, rcpt)
		}
		for _, id := range r.Accounts {
			if !seen[id] {
				seen[id] = true
				targets = append(targets, mailstore.Target{Account: id, Mailbox: mailbox})
			}
		}
		out.To = append(out.To, r.Remote...)
	}
	if env.Account != "" {
		if acct, err := b.store.Account(ctx, env.Account); err == nil {
			out.Account = acct.ID
		}
	}
	if len(out.To) == 0 {
		out = nil
	} else {
		out.Extra = queueParams(env).Marshal()
	}
	if _, err := b.store.Deliver(ctx, b.now(), targets, out, body); err != nil {
		return err
	}
	b.metrics.count(b.now(), len(targets) > 0, out != nil)
	if out != nil && b.kick != nil {
		b.kick()
	}
	if head != nil {
		b.successReports(ctx, env, local, head.bytes(), b.log)
	}
	return nil
}

// queueParams keeps what the sender asked of the delivery (RFC 3461 DSN
// parameters, REQUIRETLS, SMTPUTF8) for the outbound queue.
func queueParams(env *smtpd.Envelope) *queue.Params {
	p := &queue.Params{
		Ret: env.Ret, EnvID: env.EnvID, RequireTLS: env.RequireTLS,
		UTF8: env.UTF8, Body8Bit: env.Body == "8BITMIME",
	}
	for i, rcpt := range env.To {
		if i >= len(env.Rcpts) || env.Rcpts[i].Notify == nil && env.Rcpts[i].ORcpt == "" {
			continue
		}
		if p.Rcpts == nil {
			p.Rcpts = map[string]queue.RcptParam{}
		}
		p.Rcpts[mailstore.NormalizeAddress(rcpt)] = queue.RcptParam{Notify: env.Rcpts[i].Notify, ORcpt: env.Rcpts[i].ORcpt}
	}
	return p
}

// popBackend adapts the store to pop3d.Backend. One POP3 session at a time
// may hold an account's maildrop (RFC 1939 §8).
type popBackend struct {
	store *mailstore.Store

	// mu guards locked.
	mu     sync.Mutex
	locked map[uint64]bool
}

func (b *popBackend) Login(ctx context.Context, username, password string, remote net.Addr) (pop3d.Maildrop, error) {
	acct, err := b.store.Authenticate(ctx, username, password)
	if errors.Is(err, mailstore.ErrAuthFailed) {
		return nil, pop3d.ErrAuthFailed
	}
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.locked[acct.ID] {
		b.mu.Unlock()
		return nil, pop3d.ErrInUse
	}
	b.locked[acct.ID] = true
	b.mu.Unlock()
	d, err := b.open(ctx, acct)
	if err != nil {
		b.unlock(acct.ID)
		return nil, err
	}
	return d, nil
}

func (b *popBackend) unlock(id uint64) {
	b.mu.Lock()
	delete(b.locked, id)
	b.mu.Unlock()
}

func (b *popBackend) open(ctx context.Context, acct *mailstore.Account) (*maildrop, error) {
	inbox, err := b.store.MailboxByName(ctx, acct.ID, "INBOX")
	if err != nil {
		return nil, err
	}
	m, uids, err := b.store.Snapshot(ctx, acct.ID, inbox.ID)
	if err != nil {
		return nil, err
	}
	msgs, err := b.store.Messages(ctx, m.ID, uids)
	if err != nil {
		return nil, err
	}
	d := &maildrop{b: b, acct: acct.ID, mbox: m.ID}
	prefix := strconv.FormatUint(uint64(m.UIDValidity), 10) + "."
	for _, msg := range msgs {
		d.msgs = append(d.msgs, pop3d.Message{UID: prefix + strconv.FormatUint(uint64(msg.UID), 10), Size: msg.Size, Ref: msg})
	}
	return d, nil
}

// maildrop is one POP3 session's snapshot of INBOX.
type maildrop struct {
	b    *popBackend
	acct uint64
	mbox uint64
	msgs []pop3d.Message
}

func (d *maildrop) Messages() []pop3d.Message { return d.msgs }

func (d *maildrop) Open(ctx context.Context, m pop3d.Message) (io.ReadCloser, error) {
	rec := m.Ref.(mailstore.Message)
	cur, err := d.b.store.Messages(ctx, d.mbox, []uint32{rec.UID})
	if err != nil {
		return nil, err
	}
	if len(cur) == 0 {
		return nil, pop3d.ErrExpunged
	}
	body, err := d.b.store.OpenBody(rec.Body)
	if err != nil {
		if errors.Is(err, mailstore.ErrNotFound) {
			return nil, pop3d.ErrExpunged
		}
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{body.Reader(), body}, nil
}

func (d *maildrop) Commit(ctx context.Context, deleted []pop3d.Message) error {
	uids := make([]uint32, 0, len(deleted))
	for _, m := range deleted {
		uids = append(uids, m.Ref.(mailstore.Message).UID)
	}
	_, err := d.b.store.Remove(ctx, d.acct, d.mbox, uids)
	return err
}

func (d *maildrop) Close() error {
	d.b.unlock(d.acct)
	return nil
}

// authCounter counts failed logins per protocol, for the status page and
// the firewall's ban decisions (a later issue feeds these to it).
type authCounter struct {
	mu     sync.Mutex
	counts map[string]int
	log    func(proto string, remote net.Addr, user string)
}

func (c *authCounter) hook(proto string) func(net.Addr, string) {
	return func(remote net.Addr, user string) {
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[proto]++
		c.mu.Unlock()
		if c.log != nil {
			c.log(proto, remote, user)
		}
	}
}

func (c *authCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}
