package mailstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// QueueEntry is a message waiting for delivery to remote recipients. The
// delivery worker (services/queue) reads and updates these; smtpd only
// creates them, durably, before it acknowledges a message.
type QueueEntry struct {
	ID          uint64    `json:"id"`
	From        string    `json:"from"`
	To          []string  `json:"to"`
	Account     uint64    `json:"account,omitempty"`
	Body        uint64    `json:"body"`
	Size        int64     `json:"size"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	Extra       []byte    `json:"extra,omitempty"`
}

func (s *Store) enqueue(b *batch, id, body uint64, date time.Time, out *Outbound) error {
	var size int64
	if hdr, err := getBodyHeader(b, body); err == nil {
		size = hdr.Size
	}
	e := QueueEntry{
		ID: id, From: out.From, To: out.To, Account: out.Account, Body: body, Size: size,
		Created: date.UTC(), NextAttempt: date.UTC(), Extra: out.Extra,
	}
	return b.setJSON(queueKey(id), &e)
}

// Queue lists the outbound queue in ID (arrival) order.
func (s *Store) Queue(ctx context.Context) ([]QueueEntry, error) {
	return scanAll[QueueEntry](s, []byte(tQueue))
}

// DeleteQueueEntry removes an entry (delivered, bounced or dropped) and
// releases its body.
func (s *Store) DeleteQueueEntry(ctx context.Context, id uint64) error {
	return s.do(func(b *batch) error {
		var e QueueEntry
		if err := b.getJSON(queueKey(id), &e); err != nil {
			return fmt.Errorf("queue entry %d: %w", id, err)
		}
		b.del(queueKey(id))
		return s.addRef(b, e.Body, -1)
	})
}

// QueueLen returns the number of entries in the outbound queue.
func (s *Store) QueueLen(ctx context.Context) (int, error) {
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(tQueue)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// UpdateQueueEntry reads entry id, lets fn change it and writes it back
// durably. fn must not keep e.
func (s *Store) UpdateQueueEntry(ctx context.Context, id uint64, fn func(e *QueueEntry) error) error {
	return s.do(func(b *batch) error {
		var e QueueEntry
		if err := b.getJSON(queueKey(id), &e); err != nil {
			return fmt.Errorf("queue entry %d: %w", id, err)
		}
		if err := fn(&e); err != nil {
			return err
		}
		e.ID = id
		return b.setJSON(queueKey(id), &e)
	})
}

// QueueEntry returns one entry of the outbound queue.
func (s *Store) QueueEntry(ctx context.Context, id uint64) (*QueueEntry, error) {
	var e QueueEntry
	err := s.view(func(txn *badger.Txn) error { return getJSON(txn, queueKey(id), &e) })
	if err != nil {
		return nil, fmt.Errorf("queue entry %d: %w", id, err)
	}
	return &e, nil
}

// DoneQueueRecipients removes rcpts (delivered, or failed for good) from
// entry id in one durable write; the entry, and its hold on the body, go
// with its last recipient. It returns how many recipients remain.
func (s *Store) DoneQueueRecipients(ctx context.Context, id uint64, rcpts []string) (int, error) {
	left := 0
	err := s.do(func(b *batch) error {
		var e QueueEntry
		if err := b.getJSON(queueKey(id), &e); err != nil {
			return fmt.Errorf("queue entry %d: %w", id, err)
		}
		e.To = slices.DeleteFunc(e.To, func(r string) bool { return slices.Contains(rcpts, r) })
		left = len(e.To)
		if left > 0 {
			return b.setJSON(queueKey(id), &e)
		}
		b.del(queueKey(id))
		return s.addRef(b, e.Body, -1)
	})
	return left, err
}
