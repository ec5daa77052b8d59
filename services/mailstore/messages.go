package mailstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Message is one message in a mailbox.
type Message struct {
	UID    uint32    `json:"-"`
	Body   uint64    `json:"b"`
	Flags  []string  `json:"f,omitempty"`
	Date   time.Time `json:"d"` // IMAP internal date
	Size   int64     `json:"s"`
	ModSeq uint64    `json:"m"`
}

// Standard flags.
const (
	FlagSeen    = `\Seen`
	FlagDeleted = `\Deleted`
	FlagRecent  = `\Recent`
)

// HasFlag reports whether m carries flag (case-insensitively).
func (m *Message) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// count adds (sign=+1) or removes (-1) msg from the mailbox counters.
func (m *Mailbox) count(msg *Message, sign int) {
	d := uint32(sign)
	m.Messages += d
	m.Size += int64(sign) * msg.Size
	if !msg.HasFlag(FlagSeen) {
		m.Unseen += d
	}
	if msg.HasFlag(FlagDeleted) {
		m.Deleted += d
	}
}

// normalizeFlags canonicalises system flags, drops \Recent (a session
// property) and duplicates, and sorts.
func normalizeFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if f == "" || strings.EqualFold(f, FlagRecent) {
			continue
		}
		for _, sys := range []string{FlagSeen, FlagDeleted, `\Answered`, `\Flagged`, `\Draft`} {
			if strings.EqualFold(f, sys) {
				f = sys
			}
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// modseqValue is the value of an mms/ entry: the UID and whether the
// message was expunged at that modification sequence.
func modseqValue(uid uint32, expunged bool) []byte {
	v := binary.BigEndian.AppendUint32(nil, uid)
	if expunged {
		return append(v, 1)
	}
	return append(v, 0)
}

func scanUIDs(txn *badger.Txn, mbox uint64, limit int) []uint32 {
	var uids []uint32
	it := txn.NewIterator(badger.IteratorOptions{Prefix: messagePrefix(mbox)})
	defer it.Close()
	for it.Rewind(); it.Valid() && (limit <= 0 || len(uids) < limit); it.Next() {
		uids = append(uids, uidFromMessageKey(it.Item().Key()))
	}
	return uids
}

// UIDs returns the UIDs in a mailbox, ascending.
func (s *Store) UIDs(ctx context.Context, mbox uint64) ([]uint32, error) {
	var uids []uint32
	err := s.view(func(txn *badger.Txn) error {
		uids = scanUIDs(txn, mbox, 0)
		return nil
	})
	return uids, err
}

// Snapshot returns a mailbox and its UIDs read at one instant.
func (s *Store) Snapshot(ctx context.Context, acct, mbox uint64) (*Mailbox, []uint32, error) {
	var m Mailbox
	var uids []uint32
	err := s.view(func(txn *badger.Txn) error {
		if err := getJSON(txn, mailboxKey(acct, mbox), &m); err != nil {
			return err
		}
		uids = scanUIDs(txn, mbox, 0)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &m, uids, nil
}

// Messages returns the records of the given UIDs (ascending); UIDs that no
// longer exist are skipped.
func (s *Store) Messages(ctx context.Context, mbox uint64, uids []uint32) ([]Message, error) {
	out := make([]Message, 0, len(uids))
	err := s.view(func(txn *badger.Txn) error {
		return eachMessage(txn, mbox, uids, func(m Message) error {
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

// eachMessage reads the messages with the given ascending UIDs. A dense
// set (most of a mailbox, as in FETCH 1:*) is read with one sequential
// scan; a sparse one with a seek per UID.
func eachMessage(txn *badger.Txn, mbox uint64, uids []uint32, fn func(Message) error) error {
	if len(uids) == 0 {
		return nil
	}
	dense := uint64(uids[len(uids)-1]-uids[0]) < 4*uint64(len(uids))
	it := txn.NewIterator(badger.IteratorOptions{Prefix: messagePrefix(mbox), PrefetchValues: dense, PrefetchSize: 100})
	defer it.Close()
	it.Seek(messageKey(mbox, uids[0]))
	for _, uid := range uids {
		if !dense {
			it.Seek(messageKey(mbox, uid))
		}
		for it.Valid() && uidFromMessageKey(it.Item().Key()) < uid {
			it.Next()
		}
		if !it.Valid() {
			return nil
		}
		if uidFromMessageKey(it.Item().Key()) != uid {
			continue // expunged
		}
		m := Message{UID: uid}
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
			return fmt.Errorf("message %d: %w", uid, err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Change is one entry of a mailbox's change log.
type Change struct {
	UID      uint32
	ModSeq   uint64
	Expunged bool
}

// Changes lists what happened in a mailbox after modification sequence
// since, in order: new and re-flagged messages (Expunged false) and
// expunged ones. It also returns the mailbox's current highest modseq.
func (s *Store) Changes(ctx context.Context, mbox, since uint64) ([]Change, error) {
	var out []Change
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: modseqPrefix(mbox)})
		defer it.Close()
		for it.Seek(modseqKey(mbox, since+1)); it.Valid(); it.Next() {
			item := it.Item()
			ms := idAt(item.Key(), len(tModSeq)+8)
			err := item.Value(func(v []byte) error {
				if len(v) != 5 {
					return fmt.Errorf("bad modseq entry")
				}
				out = append(out, Change{UID: binary.BigEndian.Uint32(v), ModSeq: ms, Expunged: v[4] == 1})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// FlagOp says how StoreFlags changes flags.
type FlagOp int

const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// StoreFlags changes the flags of the given messages and returns the
// changed records. Messages whose flags do not change keep their modseq.
func (s *Store) StoreFlags(ctx context.Context, acct, mbox uint64, uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	flags = normalizeFlags(flags)
	var changed []Message
	err := s.do(func(b *batch) error {
		changed = changed[:0]
		var m Mailbox
		if err := b.getJSON(mailboxKey(acct, mbox), &m); err != nil {
			return err
		}
		for _, uid := range uids {
			var msg Message
			if err := b.getJSON(messageKey(mbox, uid), &msg); err != nil {
				continue // expunged meanwhile
			}
			msg.UID = uid
			next := applyFlags(msg.Flags, op, flags)
			if slices.Equal(next, msg.Flags) {
				continue
			}
			m.count(&msg, -1)
			b.del(modseqKey(mbox, msg.ModSeq))
			m.HighestModSeq++
			msg.Flags, msg.ModSeq = next, m.HighestModSeq
			m.count(&msg, +1)
			if err := b.setJSON(messageKey(mbox, uid), &msg); err != nil {
				return err
			}
			b.set(modseqKey(mbox, msg.ModSeq), modseqValue(uid, false))
			changed = append(changed, msg)
		}
		if len(changed) == 0 {
			return nil
		}
		b.touch(mbox)
		return b.setJSON(mailboxKey(acct, mbox), &m)
	})
	return changed, err
}

func applyFlags(cur []string, op FlagOp, flags []string) []string {
	switch op {
	case FlagsSet:
		return flags
	case FlagsAdd:
		return normalizeFlags(append(slices.Clone(cur), flags...))
	default:
		var out []string
		for _, f := range cur {
			if !slices.Contains(flags, f) {
				out = append(out, f)
			}
		}
		return out
	}
}

// removeMessage deletes one message from b, records the expunge in the
// change log and releases the body. The caller saves nothing else: the
// mailbox record is updated here.
func (s *Store) removeMessage(b *batch, acct, mbox uint64, uid uint32) error {
	var msg Message
	if err := b.getJSON(messageKey(mbox, uid), &msg); err != nil {
		return nil // already gone
	}
	msg.UID = uid
	var m Mailbox
	if err := b.getJSON(mailboxKey(acct, mbox), &m); err != nil {
		return err
	}
	m.count(&msg, -1)
	m.HighestModSeq++
	b.del(messageKey(mbox, uid))
	b.del(modseqKey(mbox, msg.ModSeq))
	b.set(modseqKey(mbox, m.HighestModSeq), modseqValue(uid, true))
	b.touch(mbox)
	if err := s.addRef(b, msg.Body, -1); err != nil {
		return err
	}
	return b.setJSON(mailboxKey(acct, mbox), &m)
}

// Expunge removes the messages flagged \Deleted, limited to uids when it
// is not nil, and returns the UIDs removed.
func (s *Store) Expunge(ctx context.Context, acct, mbox uint64, uids []uint32) ([]uint32, error) {
	return s.expunge(ctx, acct, mbox, uids, false)
}

// Remove deletes the given messages whatever their flags (POP3 DELE, then
// QUIT) and returns the UIDs removed. Each batch of a thousand is atomic.
func (s *Store) Remove(ctx context.Context, acct, mbox uint64, uids []uint32) ([]uint32, error) {
	if uids == nil {
		return nil, nil
	}
	return s.expunge(ctx, acct, mbox, uids, true)
}

func (s *Store) expunge(ctx context.Context, acct, mbox uint64, uids []uint32, force bool) ([]uint32, error) {
	if uids == nil {
		all, err := s.UIDs(ctx, mbox)
		if err != nil {
			return nil, err
		}
		uids = all
	}
	var gone []uint32
	for len(uids) > 0 {
		part := uids[:min(len(uids), 1000)]
		uids = uids[len(part):]
		var removed []uint32
		err := s.do(func(b *batch) error {
			removed = removed[:0]
			for _, uid := range part {
				var msg Message
				if err := b.getJSON(messageKey(mbox, uid), &msg); err != nil || !(force || msg.HasFlag(FlagDeleted)) {
					continue
				}
				if err := s.removeMessage(b, acct, mbox, uid); err != nil {
					return err
				}
				removed = append(removed, uid)
			}
			return nil
		})
		if err != nil {
			return gone, err
		}
		gone = append(gone, removed...)
	}
	return gone, nil
}
