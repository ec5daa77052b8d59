package mailstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"facteur/services/message"

	"github.com/dgraph-io/badger/v4"
)

// chunkSize is the size of the pieces a body is stored in. Readers and
// writers hold at most a few chunks in memory.
const chunkSize = 64 << 10

// inlineLimit is how much of a body is kept in memory before it is written
// ahead of the message records in transactions of its own. Bodies up to
// this size are written in the same transaction (and fsync) as the
// delivery.
const inlineLimit = 1 << 20

// bodyHeader is the value of bod/<id>: the body's size and its parsed
// message.Info. It is encoded as the size (uvarint) followed by the Info
// in message's own stored form, which is several times faster to decode
// than JSON: FETCH ENVELOPE decodes one per message.
type bodyHeader struct {
	Size int64
	Info []byte
}

func (h bodyHeader) encode() []byte {
	return append(binary.AppendUvarint(nil, uint64(h.Size)), h.Info...)
}

func decodeBodyHeader(raw []byte) (bodyHeader, error) {
	size, n := binary.Uvarint(raw)
	if n <= 0 || size > 1<<40 {
		return bodyHeader{}, fmt.Errorf("corrupt body header")
	}
	return bodyHeader{Size: int64(size), Info: raw[n:]}, nil
}

// getBodyHeader reads a body header in b.
func getBodyHeader(b *batch, id uint64) (bodyHeader, error) {
	raw, err := b.get(bodyKey(id))
	if err != nil {
		return bodyHeader{}, fmt.Errorf("body %d: %w", id, err)
	}
	return decodeBodyHeader(raw)
}

// bodyWriter receives a message's bytes and stores them in chunks.
type bodyWriter struct {
	s       *Store
	id      uint64
	cur     []byte   // the chunk being filled
	pending [][]byte // full chunks not yet written
	next    uint32   // number of the next chunk to write ahead
	size    int64
	ahead   bool // some chunks were written ahead: a pending marker exists
}

func (s *Store) newBodyWriter() (*bodyWriter, error) {
	id, err := s.nextID("body")
	if err != nil {
		return nil, err
	}
	return &bodyWriter{s: s, id: id, cur: make([]byte, 0, chunkSize)}, nil
}

func (w *bodyWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(chunkSize-len(w.cur), len(p))
		w.cur = append(w.cur, p[:k]...)
		p = p[k:]
		if len(w.cur) == chunkSize {
			w.pending = append(w.pending, w.cur)
			w.cur = make([]byte, 0, chunkSize)
		}
		if len(w.pending)*chunkSize >= inlineLimit {
			if err := w.writeAhead(); err != nil {
				return 0, err
			}
		}
	}
	w.size += int64(n)
	return n, nil
}

// writeAhead stores the pending chunks in their own transaction, with a
// marker that lets Open delete them if the delivery never completes.
func (w *bodyWriter) writeAhead() error {
	err := w.s.db.Update(func(txn *badger.Txn) error {
		if !w.ahead {
			if err := txn.Set(pendingKey(w.id), nil); err != nil {
				return err
			}
		}
		for _, c := range w.pending {
			if err := txn.Set(chunkKey(w.id, w.next), c); err != nil {
				return err
			}
			w.next++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write body: %w", err)
	}
	w.ahead = true
	w.pending = nil
	return nil
}

// finish records the remaining chunks and the body header in b. refs is
// the number of messages and queue entries that will point at the body.
func (w *bodyWriter) finish(b *batch, info []byte, refs uint64) {
	n := w.next
	for _, c := range w.pending {
		b.set(chunkKey(w.id, n), c)
		n++
	}
	if len(w.cur) > 0 {
		b.set(chunkKey(w.id, n), w.cur)
	}
	if w.ahead {
		b.del(pendingKey(w.id))
	}
	b.set(bodyKey(w.id), bodyHeader{Size: w.size, Info: info}.encode())
	b.set(refsKey(w.id), be64(refs))
}

// discard deletes chunks written ahead, after a failed delivery.
func (w *bodyWriter) discard() {
	if w.ahead {
		if err := w.s.deleteBodyData(w.id, int64(w.next)*chunkSize); err != nil {
			w.s.log.Warn("discard body", "body", w.id, "err", err)
		}
	}
}

func (s *Store) deleteBodyData(id uint64, size int64) error {
	return s.db.Update(func(txn *badger.Txn) error {
		for n := uint32(0); int64(n)*chunkSize < size; n++ {
			if err := txn.Delete(chunkKey(id, n)); err != nil {
				return err
			}
		}
		return txn.Delete(pendingKey(id))
	})
}

// dropPendingBodies deletes chunks of deliveries that a crash interrupted
// before they were committed.
func (s *Store) dropPendingBodies() error {
	var ids []uint64
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(tPending)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, idAt(it.Item().Key(), len(tPending)))
		}
		return nil
	})
	for _, id := range ids {
		err = errorsJoin(err, s.dropChunks(id))
	}
	if err != nil {
		return fmt.Errorf("drop unfinished bodies: %w", err)
	}
	return nil
}

func (s *Store) dropChunks(id uint64) error {
	var keys [][]byte
	s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: chunkPrefix(id)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	return s.db.Update(func(txn *badger.Txn) error {
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return txn.Delete(pendingKey(id))
	})
}

// addRef changes a body's reference count by delta in b and deletes the
// body when it reaches zero.
func (s *Store) addRef(b *batch, body uint64, delta int64) error {
	raw, err := b.get(refsKey(body))
	if err != nil {
		return fmt.Errorf("body %d refs: %w", body, err)
	}
	n := int64(binary.BigEndian.Uint64(raw)) + delta
	if n > 0 {
		b.set(refsKey(body), be64(uint64(n)))
		return nil
	}
	hdr, err := getBodyHeader(b, body)
	if err != nil {
		return err
	}
	for c := uint32(0); int64(c)*chunkSize < hdr.Size; c++ {
		b.del(chunkKey(body, c))
	}
	b.del(bodyKey(body))
	b.del(refsKey(body))
	return nil
}

// Body gives read access to a stored message body in bounded memory. It
// reads from the snapshot taken when it was opened, so an expunge that
// deletes the body meanwhile does not cut a reader off. Close it when done:
// an open Body keeps that snapshot's versions from being collected.
type Body struct {
	txn  *badger.Txn
	id   uint64
	size int64
	info *message.Info

	// cache holds the last chunk read, for sequential readers. Body is not
	// safe for concurrent use.
	cacheN int64
	cache  []byte
}

// OpenBody returns the body with the given ID and its parsed metadata.
func (s *Store) OpenBody(id uint64) (*Body, error) {
	txn := s.db.NewTransaction(false)
	raw, err := getValue(txn, bodyKey(id))
	if err != nil {
		txn.Discard()
		return nil, fmt.Errorf("open body %d: %w", id, err)
	}
	hdr, err := decodeBodyHeader(raw)
	if err != nil {
		txn.Discard()
		return nil, fmt.Errorf("open body %d: %w", id, err)
	}
	info, err := message.Unmarshal(hdr.Info)
	if err != nil {
		txn.Discard()
		return nil, fmt.Errorf("open body %d: %w", id, err)
	}
	return &Body{txn: txn, id: id, size: hdr.Size, info: info, cacheN: -1}, nil
}

// Close releases the snapshot. Reads after Close fail.
func (r *Body) Close() error {
	r.txn.Discard()
	if r.cache != nil {
		chunkBufs.Put(r.cache[:0])
		r.cache, r.cacheN = nil, -1
	}
	return nil
}

// chunkBufs recycles the chunk buffers of closed Bodies: FETCH and SEARCH
// open one Body per message.
var chunkBufs = sync.Pool{New: func() any { return make([]byte, 0, chunkSize) }}

// Size returns the body's length in bytes.
func (r *Body) Size() int64 { return r.size }

// Info returns the parsed MIME structure and envelope.
func (r *Body) Info() *message.Info { return r.info }

// ReadAt implements io.ReaderAt.
func (r *Body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for n < len(p) && off < r.size {
		c := off / chunkSize
		if err := r.load(c); err != nil {
			return n, err
		}
		k := copy(p[n:], r.cache[off-c*chunkSize:])
		if k == 0 {
			return n, fmt.Errorf("body %d: chunk %d is short", r.id, c)
		}
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *Body) load(c int64) error {
	if r.cacheN == c {
		return nil
	}
	item, err := r.txn.Get(chunkKey(r.id, uint32(c)))
	if err == nil {
		if r.cache == nil {
			r.cache = chunkBufs.Get().([]byte)
		}
		r.cache, err = item.ValueCopy(r.cache[:0])
	}
	if err != nil {
		r.cacheN = -1
		return fmt.Errorf("read body %d chunk %d: %w", r.id, c, err)
	}
	r.cacheN = c
	return nil
}

// Reader returns a reader of the whole body.
func (r *Body) Reader() io.Reader { return io.NewSectionReader(r, 0, r.size) }

func errorsJoin(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return errors.Join(a, b)
}
