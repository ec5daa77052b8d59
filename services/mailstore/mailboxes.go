package mailstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
)

// Delimiter separates levels of the mailbox hierarchy.
const Delimiter = "/"

// Mailbox is a folder of one account. Counters are kept up to date by every
// write so that STATUS never scans messages.
type Mailbox struct {
	ID            uint64    `json:"id"`
	Account       uint64    `json:"account"`
	Name          string    `json:"name"`
	UIDValidity   uint32    `json:"uidvalidity"`
	UIDNext       uint32    `json:"uidnext"`
	HighestModSeq uint64    `json:"modseq"`
	SpecialUse    string    `json:"special_use,omitempty"`
	Subscribed    bool      `json:"subscribed,omitempty"`
	Messages      uint32    `json:"messages"`
	Unseen        uint32    `json:"unseen"`
	Deleted       uint32    `json:"deleted"` // messages flagged \Deleted
	Size          int64     `json:"size"`
	Created       time.Time `json:"created"`
	// Removing is set while a deleted mailbox's messages are purged.
	Removing bool `json:"removing,omitempty"`
}

// canonicalName applies RFC 3501's case-insensitive INBOX rule and checks
// the name.
func canonicalName(name string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	if upper := strings.ToUpper(name); strings.HasPrefix(upper, "INBOX"+Delimiter) {
		name = "INBOX" + name[len("INBOX"):]
	}
	if name == "" || !utf8.ValidString(name) || len(name) > 500 ||
		strings.HasPrefix(name, Delimiter) || strings.HasSuffix(name, Delimiter) ||
		strings.Contains(name, Delimiter+Delimiter) || strings.ContainsAny(name, "\x00\r\n*%") {
		return "", fmt.Errorf("mailbox name %q: %w", name, ErrInvalid)
	}
	return name, nil
}

// createMailbox adds a mailbox in b. Missing parents are created too.
func (s *Store) createMailbox(b *batch, acct uint64, name, specialUse string, subscribed bool) (*Mailbox, error) {
	name, err := canonicalName(name)
	if err != nil {
		return nil, err
	}
	if _, err := b.get(mailboxNameKey(acct, name)); err == nil {
		return nil, fmt.Errorf("create mailbox %s: %w", name, ErrExists)
	}
	if i := strings.LastIndex(name, Delimiter); i > 0 {
		if _, err := b.get(mailboxNameKey(acct, name[:i])); err != nil {
			if _, err := s.createMailbox(b, acct, name[:i], "", subscribed); err != nil {
				return nil, err
			}
		}
	}
	id, err := s.nextID("mailbox")
	if err != nil {
		return nil, err
	}
	uv, err := s.uidValidity(b)
	if err != nil {
		return nil, err
	}
	m := &Mailbox{
		ID: id, Account: acct, Name: name, UIDValidity: uv, UIDNext: 1,
		HighestModSeq: 1, SpecialUse: specialUse, Subscribed: subscribed, Created: s.now().UTC(),
	}
	b.set(mailboxNameKey(acct, name), be64(id))
	return m, b.setJSON(mailboxKey(acct, id), m)
}

// uidValidity returns a new UIDVALIDITY: the clock in seconds, or one more
// than the last one given out if that is not smaller, so that a mailbox
// deleted and created again never gets its old value back (RFC 9051
// §2.3.1.1), even within one second or after the clock stepped back.
func (s *Store) uidValidity(b *batch) (uint32, error) {
	k := blobKey("uidvalidity-last")
	var last uint32
	if raw, err := b.get(k); err == nil && len(raw) == 4 {
		last = binary.BigEndian.Uint32(raw)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	v := max(uint32(s.now().Unix()), last+1)
	b.set(k, binary.BigEndian.AppendUint32(nil, v))
	return v, nil
}

// CreateMailbox creates a mailbox (and its missing parents) for acct.
func (s *Store) CreateMailbox(ctx context.Context, acct uint64, name, specialUse string) error {
	return s.do(func(b *batch) error {
		_, err := s.createMailbox(b, acct, name, specialUse, true)
		return err
	})
}

// Mailboxes lists an account's mailboxes sorted by name, without those
// being removed.
func (s *Store) Mailboxes(ctx context.Context, acct uint64) ([]Mailbox, error) {
	all, err := scanAll[Mailbox](s, mailboxPrefix(acct))
	out := slices.DeleteFunc(all, func(m Mailbox) bool { return m.Removing })
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// MailboxByName returns one mailbox of acct.
func (s *Store) MailboxByName(ctx context.Context, acct uint64, name string) (*Mailbox, error) {
	name, err := canonicalName(name)
	if err != nil {
		return nil, ErrNotFound
	}
	var m Mailbox
	err = s.view(func(txn *badger.Txn) error {
		raw, err := getValue(txn, mailboxNameKey(acct, name))
		if err != nil {
			return err
		}
		return getJSON(txn, mailboxKey(acct, idAt(raw, 0)), &m)
	})
	if err != nil {
		return nil, fmt.Errorf("mailbox %s: %w", name, err)
	}
	return &m, nil
}

// SetSubscribed changes a mailbox's subscription.
func (s *Store) SetSubscribed(ctx context.Context, acct uint64, name string, on bool) error {
	return s.updateMailbox(acct, name, func(m *Mailbox) error { m.Subscribed = on; return nil })
}

func (s *Store) updateMailbox(acct uint64, name string, fn func(*Mailbox) error) error {
	name, err := canonicalName(name)
	if err != nil {
		return err
	}
	return s.do(func(b *batch) error {
		m, err := mailboxInBatch(b, acct, name)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		return b.setJSON(mailboxKey(acct, m.ID), m)
	})
}

func mailboxInBatch(b *batch, acct uint64, name string) (*Mailbox, error) {
	raw, err := b.get(mailboxNameKey(acct, name))
	if err != nil {
		return nil, fmt.Errorf("mailbox %s: %w", name, err)
	}
	var m Mailbox
	if err := b.getJSON(mailboxKey(acct, idAt(raw, 0)), &m); err != nil {
		return nil, fmt.Errorf("mailbox %s: %w", name, err)
	}
	return &m, nil
}

// DeleteMailbox deletes a mailbox and its messages. INBOX cannot be
// deleted, nor a mailbox that has children (delete those first, as
// Dovecot requires).
func (s *Store) DeleteMailbox(ctx context.Context, acct uint64, name string) error {
	name, err := canonicalName(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return fmt.Errorf("delete INBOX: %w", ErrMailboxInUse)
	}
	var id uint64
	err = s.do(func(b *batch) error {
		m, err := mailboxInBatch(b, acct, name)
		if err != nil {
			return err
		}
		if hasChildren(b.txn, acct, name) {
			return fmt.Errorf("delete %s: it has children: %w", name, ErrMailboxInUse)
		}
		m.Removing = true
		id = m.ID
		b.del(mailboxNameKey(acct, name))
		b.touch(m.ID)
		return b.setJSON(mailboxKey(acct, m.ID), m)
	})
	if err != nil {
		return err
	}
	return s.purgeMailbox(ctx, acct, id)
}

func hasChildren(txn *badger.Txn, acct uint64, name string) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: mailboxNameKey(acct, name+Delimiter)})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// purgeMailbox deletes the messages of a mailbox marked Removing, a
// thousand per commit, then the mailbox record. Open resumes purges that a
// crash interrupted.
func (s *Store) purgeMailbox(ctx context.Context, acct, id uint64) error {
	for {
		var done bool
		err := s.do(func(b *batch) error {
			uids := scanUIDs(b.txn, id, 1000)
			for _, uid := range uids {
				if err := s.removeMessage(b, acct, id, uid); err != nil {
					return err
				}
			}
			if len(uids) < 1000 {
				done = true
				b.del(mailboxKey(acct, id))
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// resumePurges finishes mailbox deletions interrupted by a crash.
func (s *Store) resumePurges(ctx context.Context) error {
	all, err := scanAll[Mailbox](s, []byte(tMailbox))
	for _, m := range all {
		if m.Removing {
			err = errorsJoin(err, s.purgeMailbox(ctx, m.Account, m.ID))
		}
	}
	return err
}

// RenameMailbox renames a mailbox and its children. Renaming INBOX moves
// its messages into a new mailbox and leaves INBOX empty (RFC 3501 §6.3.5).
func (s *Store) RenameMailbox(ctx context.Context, acct uint64, from, to string) error {
	from, err := canonicalName(from)
	if err != nil {
		return err
	}
	to, err = canonicalName(to)
	if err != nil {
		return err
	}
	if from == "INBOX" {
		return s.renameInbox(ctx, acct, to)
	}
	if to == "INBOX" || strings.HasPrefix(to, from+Delimiter) {
		return fmt.Errorf("rename %s to %s: %w", from, to, ErrInvalid)
	}
	return s.do(func(b *batch) error {
		if _, err := b.get(mailboxNameKey(acct, to)); err == nil {
			return fmt.Errorf("rename to %s: %w", to, ErrExists)
		}
		boxes, err := renameSet(b, acct, from)
		if err != nil {
			return err
		}
		for _, m := range boxes {
			newName := to + strings.TrimPrefix(m.Name, from)
			b.del(mailboxNameKey(acct, m.Name))
			m.Name = newName
			b.set(mailboxNameKey(acct, newName), be64(m.ID))
			if err := b.setJSON(mailboxKey(acct, m.ID), m); err != nil {
				return err
			}
		}
		if i := strings.LastIndex(to, Delimiter); i > 0 {
			if _, err := b.get(mailboxNameKey(acct, to[:i])); err != nil {
				_, err := s.createMailbox(b, acct, to[:i], "", true)
				return err
			}
		}
		return nil
	})
}

// renameSet returns the mailbox named from and its descendants.
func renameSet(b *batch, acct uint64, from string) ([]*Mailbox, error) {
	m, err := mailboxInBatch(b, acct, from)
	if err != nil {
		return nil, err
	}
	out := []*Mailbox{m}
	it := b.txn.NewIterator(badger.IteratorOptions{Prefix: mailboxNameKey(acct, from+Delimiter)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		raw, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		var child Mailbox
		if err := b.getJSON(mailboxKey(acct, idAt(raw, 0)), &child); err != nil {
			return nil, err
		}
		out = append(out, &child)
	}
	return out, nil
}

func (s *Store) renameInbox(ctx context.Context, acct uint64, to string) error {
	if err := s.CreateMailbox(ctx, acct, to, ""); err != nil {
		return err
	}
	inbox, err := s.MailboxByName(ctx, acct, "INBOX")
	if err != nil {
		return err
	}
	dst, err := s.MailboxByName(ctx, acct, to)
	if err != nil {
		return err
	}
	for {
		uids, err := s.UIDs(ctx, inbox.ID)
		if err != nil || len(uids) == 0 {
			return err
		}
		if len(uids) > 1000 {
			uids = uids[:1000]
		}
		if _, err := s.Move(ctx, acct, inbox.ID, uids, dst.ID); err != nil {
			return err
		}
	}
}
