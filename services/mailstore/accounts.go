package mailstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Domain is a mail domain the box receives mail for.
type Domain struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// Account is a user who can log in and owns mailboxes.
type Account struct {
	ID           uint64    `json:"id"`
	Address      string    `json:"address"` // primary address, lower case; the login name
	Name         string    `json:"name,omitempty"`
	PasswordHash string    `json:"password_hash"`
	QuotaBytes   int64     `json:"quota_bytes,omitempty"` // 0: no quota
	Disabled     bool      `json:"disabled,omitempty"`
	Admin        bool      `json:"admin,omitempty"`
	Created      time.Time `json:"created"`
	// SendAs are further sender addresses, or "@domain" for any address of
	// a domain, the account may use (a relay account for another mail
	// server, a scanner sending for a department).
	SendAs []string `json:"send_as,omitempty"`
}

// Alias forwards an address (or "@domain" for a catch-all) to one or more
// targets, local or remote.
type Alias struct {
	Address string   `json:"address"`
	Targets []string `json:"targets"`
}

// DefaultMailboxes are created for every account, with their RFC 6154
// special-use attribute.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

func validDomain(name string) bool {
	if name == "" || len(name) > 253 || strings.ContainsAny(name, " @/\\\x00") || strings.HasPrefix(name, ".") {
		return false
	}
	return strings.Contains(name, ".") || name == "localhost"
}

// AddDomain adds a local mail domain.
func (s *Store) AddDomain(ctx context.Context, name string) error {
	name = strings.TrimSuffix(NormalizeAddress(name), ".")
	if !validDomain(name) {
		return fmt.Errorf("add domain %q: %w", name, ErrInvalid)
	}
	return s.do(func(b *batch) error {
		if _, err := b.get(domainKey(name)); err == nil {
			return fmt.Errorf("add domain %s: %w", name, ErrExists)
		}
		return b.setJSON(domainKey(name), Domain{Name: name, Created: s.now().UTC()})
	})
}

// DeleteDomain removes a domain that has no accounts left.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	name = NormalizeAddress(name)
	accts, err := s.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if _, d, _ := splitAddress(a.Address); d == name {
			return fmt.Errorf("delete domain %s: account %s still uses it: %w", name, a.Address, ErrInvalid)
		}
	}
	return s.do(func(b *batch) error {
		if _, err := b.get(domainKey(name)); err != nil {
			return fmt.Errorf("delete domain %s: %w", name, err)
		}
		b.del(domainKey(name))
		return nil
	})
}

// Domains lists the local domains.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	return scanAll[Domain](s, []byte(tDomain))
}

// IsLocalDomain reports whether name is one of the box's domains.
func (s *Store) IsLocalDomain(ctx context.Context, name string) (bool, error) {
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(domainKey(NormalizeAddress(name)))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// AddAccount creates an account with its default mailboxes. The domain of
// addr must be local.
func (s *Store) AddAccount(ctx context.Context, addr, password string) (*Account, error) {
	addr = NormalizeAddress(addr)
	local, domain, ok := splitAddress(addr)
	if !ok || strings.ContainsAny(local, " \"\\") || strings.Contains(local, "+") {
		return nil, fmt.Errorf("add account %q: %w", addr, ErrInvalid)
	}
	if len(password) < 8 {
		return nil, fmt.Errorf("add account %s: password must have at least 8 characters: %w", addr, ErrInvalid)
	}
	hash, err := s.kdf.hash(password)
	if err != nil {
		return nil, err
	}
	id, err := s.nextID("account")
	if err != nil {
		return nil, err
	}
	acct := &Account{ID: id, Address: addr, PasswordHash: hash, Created: s.now().UTC()}
	err = s.do(func(b *batch) error {
		if _, err := b.get(domainKey(domain)); err != nil {
			return fmt.Errorf("add account %s: domain %s is not local: %w", addr, domain, ErrInvalid)
		}
		if _, err := b.get(addressKey(addr)); err == nil {
			return fmt.Errorf("add account %s: %w", addr, ErrExists)
		}
		if _, err := b.get(aliasKey(addr)); err == nil {
			return fmt.Errorf("add account %s: an alias has that address: %w", addr, ErrExists)
		}
		b.set(addressKey(addr), be64(id))
		if err := b.setJSON(accountKey(id), acct); err != nil {
			return err
		}
		for _, m := range DefaultMailboxes {
			if _, err := s.createMailbox(b, id, m.Name, m.SpecialUse, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return acct, nil
}

// Account returns the account with the given login address.
func (s *Store) Account(ctx context.Context, addr string) (*Account, error) {
	var acct *Account
	err := s.view(func(txn *badger.Txn) error {
		var err error
		acct, err = accountByAddress(txn, NormalizeAddress(addr))
		return err
	})
	return acct, err
}

// AccountByID returns the account with the given ID.
func (s *Store) AccountByID(ctx context.Context, id uint64) (*Account, error) {
	var acct Account
	err := s.view(func(txn *badger.Txn) error { return getJSON(txn, accountKey(id), &acct) })
	if err != nil {
		return nil, err
	}
	return &acct, nil
}

func accountByAddress(txn *badger.Txn, addr string) (*Account, error) {
	raw, err := getValue(txn, addressKey(addr))
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", addr, err)
	}
	var acct Account
	if err := getJSON(txn, accountKey(idAt(raw, 0)), &acct); err != nil {
		return nil, fmt.Errorf("account %s: %w", addr, err)
	}
	return &acct, nil
}

// Accounts lists every account, sorted by address.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	out, err := scanAll[Account](s, []byte(tAccount))
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, err
}

// UpdateAccount changes an account with fn, which must not change its ID
// or address.
func (s *Store) UpdateAccount(ctx context.Context, addr string, fn func(*Account) error) error {
	addr = NormalizeAddress(addr)
	return s.do(func(b *batch) error {
		raw, err := b.get(addressKey(addr))
		if err != nil {
			return fmt.Errorf("account %s: %w", addr, err)
		}
		var acct Account
		if err := b.getJSON(accountKey(idAt(raw, 0)), &acct); err != nil {
			return err
		}
		id, address := acct.ID, acct.Address
		if err := fn(&acct); err != nil {
			return err
		}
		acct.ID, acct.Address = id, address
		return b.setJSON(accountKey(id), &acct)
	})
}

// SetPassword replaces an account's password.
func (s *Store) SetPassword(ctx context.Context, addr, password string) error {
	if len(password) < 8 {
		return fmt.Errorf("set password: at least 8 characters: %w", ErrInvalid)
	}
	hash, err := s.kdf.hash(password)
	if err != nil {
		return err
	}
	return s.UpdateAccount(ctx, addr, func(a *Account) error { a.PasswordHash = hash; return nil })
}

// Authenticate checks a login. Unknown users and wrong passwords both
// return ErrAuthFailed, after the same amount of work.
func (s *Store) Authenticate(ctx context.Context, addr, password string) (*Account, error) {
	acct, err := s.Account(ctx, addr)
	if errors.Is(err, ErrNotFound) {
		s.kdf.check(dummyHash(), password)
		return nil, ErrAuthFailed
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if s.auth.ok(acct.Address, acct.PasswordHash, password, now) {
		return checkEnabled(acct)
	}
	if !s.kdf.check(acct.PasswordHash, password) {
		return nil, ErrAuthFailed
	}
	s.auth.remember(acct.Address, acct.PasswordHash, password, now)
	return checkEnabled(acct)
}

func checkEnabled(acct *Account) (*Account, error) {
	if acct.Disabled {
		return nil, ErrAuthFailed
	}
	return acct, nil
}

// dummyHash is checked for unknown users so that timing does not tell
// which users exist.
var dummyHash = sync.OnceValue(func() string { h, _ := HashPassword("facteur-no-such-user"); return h })

// DeleteAccount removes an account, its mailboxes and messages. Aliases
// that point at it stay (and skip it) until an admin changes them.
func (s *Store) DeleteAccount(ctx context.Context, addr string) error {
	addr = NormalizeAddress(addr)
	var acct Account
	var boxes []Mailbox
	err := s.do(func(b *batch) error {
		raw, err := b.get(addressKey(addr))
		if err != nil {
			return fmt.Errorf("account %s: %w", addr, err)
		}
		if err := b.getJSON(accountKey(idAt(raw, 0)), &acct); err != nil {
			return err
		}
		boxes = boxes[:0]
		it := b.txn.NewIterator(badger.IteratorOptions{Prefix: mailboxPrefix(acct.ID)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var m Mailbox
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
				return err
			}
			m.Removing = true
			b.del(mailboxNameKey(acct.ID, m.Name))
			if err := b.setJSON(mailboxKey(acct.ID, m.ID), &m); err != nil {
				return err
			}
			b.touch(m.ID)
			boxes = append(boxes, m)
		}
		b.del(addressKey(addr))
		b.del(accountKey(acct.ID))
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range boxes {
		err = errorsJoin(err, s.purgeMailbox(ctx, acct.ID, m.ID))
	}
	return err
}
