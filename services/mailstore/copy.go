package mailstore

import (
	"context"
	"fmt"
)

// UIDPair maps a source message to its copy.
type UIDPair struct{ Src, Dst uint32 }

// CopyResult is what COPY and MOVE report (RFC 4315 COPYUID).
type CopyResult struct {
	UIDValidity uint32
	Pairs       []UIDPair
}

// Copy copies messages to another mailbox of the same account. Bodies are
// shared, not duplicated.
func (s *Store) Copy(ctx context.Context, acct, src uint64, uids []uint32, dst uint64) (*CopyResult, error) {
	return s.copyOrMove(acct, src, uids, dst, false)
}

// Move moves messages to another mailbox of the same account in one
// atomic write (RFC 6851).
func (s *Store) Move(ctx context.Context, acct, src uint64, uids []uint32, dst uint64) (*CopyResult, error) {
	return s.copyOrMove(acct, src, uids, dst, true)
}

func (s *Store) copyOrMove(acct, src uint64, uids []uint32, dst uint64, move bool) (*CopyResult, error) {
	if len(uids) > 10000 {
		return nil, fmt.Errorf("copy: too many messages at once (%d): %w", len(uids), ErrInvalid)
	}
	res := &CopyResult{}
	err := s.do(func(b *batch) error {
		res.Pairs = res.Pairs[:0]
		var d Mailbox
		if err := b.getJSON(mailboxKey(acct, dst), &d); err != nil || d.Removing {
			return fmt.Errorf("copy: destination: %w", ErrNotFound)
		}
		res.UIDValidity = d.UIDValidity
		for _, uid := range uids {
			var msg Message
			if err := b.getJSON(messageKey(src, uid), &msg); err != nil {
				continue // expunged meanwhile
			}
			msg.UID = d.UIDNext
			d.UIDNext++
			d.HighestModSeq++
			msg.ModSeq = d.HighestModSeq
			d.count(&msg, +1)
			if err := b.setJSON(messageKey(dst, msg.UID), &msg); err != nil {
				return err
			}
			b.set(modseqKey(dst, msg.ModSeq), modseqValue(msg.UID, false))
			if err := s.addRef(b, msg.Body, +1); err != nil {
				return err
			}
			res.Pairs = append(res.Pairs, UIDPair{Src: uid, Dst: msg.UID})
		}
		b.touch(dst)
		if err := b.setJSON(mailboxKey(acct, dst), &d); err != nil {
			return err
		}
		if move {
			for _, p := range res.Pairs {
				if err := s.removeMessage(b, acct, src, p.Src); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
