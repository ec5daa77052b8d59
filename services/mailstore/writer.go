package mailstore

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// An op is one logical write: it reads through a batch and records its
// writes there. The writer runs many ops in one Badger transaction and
// commits them with one fsync; each op's writes are applied whole or not
// at all.
type op struct {
	fn   func(b *batch) error
	done chan error
	// touched collects mailboxes whose change feed fires after commit.
	touched []uint64
}

// maxOpsPerBatch bounds how many requests share one commit.
const maxOpsPerBatch = 128

// do runs fn in the writer and waits until its writes are durable.
func (s *Store) do(fn func(b *batch) error) error {
	o := &op{fn: fn, done: make(chan error, 1)}
	select {
	case s.ops <- o:
	case <-s.stop:
		return ErrClosed
	}
	return <-o.done
}

func (s *Store) writer() {
	defer close(s.stopped)
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.stop:
			s.drainOnStop()
			return
		}
		ops := []*op{first}
	gather:
		for len(ops) < maxOpsPerBatch {
			select {
			case o := <-s.ops:
				ops = append(ops, o)
			default:
				break gather
			}
		}
		s.runBatch(ops)
	}
}

// drainOnStop answers requests that raced with Close.
func (s *Store) drainOnStop() {
	for {
		select {
		case o := <-s.ops:
			o.done <- ErrClosed
		default:
			return
		}
	}
}

// runBatch applies ops in as few transactions as fit Badger's batch limits
// and reports each op's result after its transaction is durable.
func (s *Store) runBatch(ops []*op) {
	txn := s.db.NewTransaction(true)
	var inTxn []*op // ops whose writes are in txn
	size, count := int64(0), int64(0)
	limitSize, limitCount := s.db.MaxBatchSize()/2, s.db.MaxBatchCount()/2

	for _, o := range ops {
		b := &batch{txn: txn, writes: map[string]*write{}, op: o}
		err := o.fn(b)
		if err != nil {
			o.done <- err
			continue
		}
		bs, bc := b.estimate()
		if len(inTxn) > 0 && (size+bs > limitSize || count+bc > limitCount) {
			s.commit(txn, inTxn)
			txn, inTxn, size, count = s.db.NewTransaction(true), nil, 0, 0
			b = &batch{txn: txn, writes: map[string]*write{}, op: o}
			o.touched = nil
			if err := o.fn(b); err != nil {
				o.done <- err
				continue
			}
			bs, bc = b.estimate()
		}
		if err := b.apply(); err != nil {
			// The transaction may hold part of this op: abandon it all.
			txn.Discard()
			for _, p := range append(inTxn, o) {
				p.done <- fmt.Errorf("write batch: %w", err)
			}
			txn, inTxn, size, count = s.db.NewTransaction(true), nil, 0, 0
			continue
		}
		inTxn = append(inTxn, o)
		size, count = size+bs, count+bc
	}
	s.commit(txn, inTxn)
}

func (s *Store) commit(txn *badger.Txn, ops []*op) {
	defer txn.Discard()
	if len(ops) == 0 {
		return
	}
	err := txn.Commit()
	if err != nil {
		s.log.Error("commit failed", "ops", len(ops), "err", err)
		err = fmt.Errorf("commit: %w", err)
	}
	for _, o := range ops {
		if err == nil {
			for _, mbox := range o.touched {
				s.feed.notify(mbox)
			}
		}
		o.done <- err
	}
}

// write is one pending change in a batch; val nil means delete.
type write struct {
	key, val []byte
}

// batch is an op's view of the transaction: reads see the op's own
// writes first, then the transaction (which holds earlier ops' writes).
// Iterators read the transaction directly and do not see the op's own
// pending writes.
type batch struct {
	txn    *badger.Txn
	writes map[string]*write
	order  []string
	op     *op
}

func (b *batch) get(k []byte) ([]byte, error) {
	if w, ok := b.writes[string(k)]; ok {
		if w.val == nil {
			return nil, ErrNotFound
		}
		return w.val, nil
	}
	item, err := b.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (b *batch) getJSON(k []byte, v any) error {
	raw, err := b.get(k)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func (b *batch) set(k, v []byte) {
	ks := string(k)
	if _, ok := b.writes[ks]; !ok {
		b.order = append(b.order, ks)
	}
	if v == nil {
		v = []byte{}
	}
	b.writes[ks] = &write{key: k, val: v}
}

func (b *batch) setJSON(k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.set(k, raw)
	return nil
}

func (b *batch) del(k []byte) {
	ks := string(k)
	if _, ok := b.writes[ks]; !ok {
		b.order = append(b.order, ks)
	}
	b.writes[ks] = &write{key: k}
}

// touch schedules a change notification for mbox after commit.
func (b *batch) touch(mbox uint64) {
	for _, m := range b.op.touched {
		if m == mbox {
			return
		}
	}
	b.op.touched = append(b.op.touched, mbox)
}

// estimate mirrors Badger's own accounting, generously.
func (b *batch) estimate() (size, count int64) {
	for _, w := range b.writes {
		size += int64(len(w.key)) + 32
		if len(w.val) < 4<<10 {
			size += int64(len(w.val))
		}
		count++
	}
	return size, count
}

func (b *batch) apply() error {
	for _, ks := range b.order {
		w := b.writes[ks]
		var err error
		if w.val == nil {
			err = b.txn.Delete(w.key)
		} else {
			err = b.txn.Set(w.key, w.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
