package mailstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"facteur/services/message"
)

// Target is one place a delivered message goes.
type Target struct {
	Account uint64
	// Mailbox is the mailbox name; "" or a mailbox that does not exist
	// means INBOX.
	Mailbox string
	Flags   []string
}

// Placed says where a message was stored.
type Placed struct {
	Account     uint64
	Mailbox     uint64
	UIDValidity uint32
	UID         uint32
}

// Outbound is the queue part of a delivery: remote recipients.
type Outbound struct {
	From    string
	To      []string
	Account uint64 // sending account, 0 when relayed by an alias
	// Extra is opaque data of the queue (DSN parameters and the like).
	Extra []byte
}

// Deliver stores the message read from r once, for every target and, if
// out is not nil, as an entry in the outbound queue. It returns when all of
// it is durable on disk; on error nothing is stored. The body is parsed for
// IMAP (envelope, structure) while it is written.
func (s *Store) Deliver(ctx context.Context, date time.Time, targets []Target, out *Outbound, r io.Reader) ([]Placed, error) {
	if len(targets) == 0 && (out == nil || len(out.To) == 0) {
		return nil, fmt.Errorf("deliver: no recipients: %w", ErrInvalid)
	}
	w, err := s.newBodyWriter()
	if err != nil {
		return nil, err
	}
	info, err := parseWhileWriting(r, w)
	if err != nil {
		w.discard()
		return nil, fmt.Errorf("deliver: %w", err)
	}
	var queueID uint64
	if out != nil && len(out.To) > 0 {
		if queueID, err = s.nextID("queue"); err != nil {
			w.discard()
			return nil, err
		}
	}
	var placed []Placed
	err = s.do(func(b *batch) error {
		placed = placed[:0]
		refs := uint64(len(targets))
		if queueID != 0 {
			refs++
		}
		w.finish(b, info, refs)
		for _, t := range targets {
			p, err := s.addMessage(b, t, w.id, w.size, date)
			if err != nil {
				return err
			}
			placed = append(placed, p)
		}
		if queueID != 0 {
			return s.enqueue(b, queueID, w.id, date, out)
		}
		return nil
	})
	if err != nil {
		w.discard()
		return nil, err
	}
	return placed, nil
}

// parseWhileWriting copies r into w and parses it on the way.
func parseWhileWriting(r io.Reader, w *bodyWriter) ([]byte, error) {
	pr, pw := io.Pipe()
	type result struct {
		info *message.Info
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := message.Parse(bufio.NewReaderSize(pr, 32<<10))
		io.Copy(io.Discard, pr) // let the writer finish even if Parse stopped early
		done <- result{info, err}
	}()
	_, err := io.Copy(io.MultiWriter(w, pw), r)
	pw.CloseWithError(err)
	res := <-done
	if err != nil {
		return nil, err
	}
	if res.err != nil {
		return nil, fmt.Errorf("parse message: %w", res.err)
	}
	return res.info.Marshal()
}

// addMessage records one message in b and updates its mailbox.
func (s *Store) addMessage(b *batch, t Target, body uint64, size int64, date time.Time) (Placed, error) {
	m, err := targetMailbox(b, t)
	if err != nil {
		return Placed{}, err
	}
	uid := m.UIDNext
	m.UIDNext++
	m.HighestModSeq++
	msg := Message{UID: uid, Body: body, Flags: normalizeFlags(t.Flags), Date: date, Size: size, ModSeq: m.HighestModSeq}
	m.count(&msg, +1)
	if err := b.setJSON(messageKey(m.ID, uid), &msg); err != nil {
		return Placed{}, err
	}
	b.set(modseqKey(m.ID, msg.ModSeq), modseqValue(uid, false))
	b.touch(m.ID)
	return Placed{Account: t.Account, Mailbox: m.ID, UIDValidity: m.UIDValidity, UID: uid}, b.setJSON(mailboxKey(m.Account, m.ID), m)
}

func targetMailbox(b *batch, t Target) (*Mailbox, error) {
	if t.Mailbox != "" {
		if name, err := canonicalName(t.Mailbox); err == nil {
			if m, err := mailboxInBatch(b, t.Account, name); err == nil && !m.Removing {
				return m, nil
			}
		}
	}
	return mailboxInBatch(b, t.Account, "INBOX")
}

// Append stores a message in one mailbox (IMAP APPEND) and returns its UID
// once it is durable.
func (s *Store) Append(ctx context.Context, acct uint64, mailbox string, flags []string, date time.Time, r io.Reader) (Placed, error) {
	name, err := canonicalName(mailbox)
	if err != nil {
		return Placed{}, ErrNotFound
	}
	if _, err := s.MailboxByName(ctx, acct, name); err != nil {
		return Placed{}, err
	}
	placed, err := s.Deliver(ctx, date, []Target{{Account: acct, Mailbox: name, Flags: flags}}, nil, r)
	if err != nil {
		return Placed{}, err
	}
	return placed[0], nil
}

// Usage returns the bytes stored in an account's mailboxes.
func (s *Store) Usage(ctx context.Context, acct uint64) (int64, error) {
	boxes, err := s.Mailboxes(ctx, acct)
	var n int64
	for _, m := range boxes {
		n += m.Size
	}
	return n, err
}

// QuotaAllows reports whether acct may receive size more bytes.
func (s *Store) QuotaAllows(ctx context.Context, acct uint64, size int64) (bool, error) {
	a, err := s.AccountByID(ctx, acct)
	if err != nil {
		return false, err
	}
	if a.QuotaBytes <= 0 {
		return true, nil
	}
	used, err := s.Usage(ctx, acct)
	return used+size <= a.QuotaBytes, err
}
