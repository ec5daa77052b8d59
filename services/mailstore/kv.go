package mailstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

func getValue(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func getJSON(txn *badger.Txn, k []byte, v any) error {
	raw, err := getValue(txn, k)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// scanJSON calls fn with the value of every key under prefix.
func (s *Store) scanJSON(prefix []byte, fn func(raw []byte) error) error {
	return s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := it.Item().Value(fn); err != nil {
				return err
			}
		}
		return nil
	})
}

// Blob returns a small named value kept for other parts of the appliance
// (the TLS certificate, the settings). ErrNotFound if unset.
func (s *Store) Blob(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.view(func(txn *badger.Txn) error {
		var err error
		v, err = getValue(txn, blobKey(name))
		return err
	})
	return v, err
}

// SetBlob stores a small named value durably.
func (s *Store) SetBlob(ctx context.Context, name string, value []byte) error {
	v := append([]byte(nil), value...)
	return s.do(func(b *batch) error {
		b.set(blobKey(name), v)
		return nil
	})
}

// scanAll decodes the JSON value of every key under prefix.
func scanAll[T any](s *Store, prefix []byte) ([]T, error) {
	var out []T
	err := s.scanJSON(prefix, func(raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
