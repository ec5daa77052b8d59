package mailstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// AddAlias creates or replaces an alias. addr is a full address or
// "@domain" for a catch-all; its domain must be local. Targets may be
// local or remote addresses.
func (s *Store) AddAlias(ctx context.Context, addr string, targets []string) error {
	addr = NormalizeAddress(addr)
	domain, catchAll := strings.CutPrefix(addr, "@")
	if !catchAll {
		var ok bool
		if _, domain, ok = splitAddress(addr); !ok {
			return fmt.Errorf("alias %q: %w", addr, ErrInvalid)
		}
	}
	var clean []string
	for _, t := range targets {
		t = NormalizeAddress(t)
		if _, _, ok := splitAddress(t); !ok {
			return fmt.Errorf("alias %s: target %q: %w", addr, t, ErrInvalid)
		}
		clean = append(clean, t)
	}
	if len(clean) == 0 {
		return fmt.Errorf("alias %s: no targets: %w", addr, ErrInvalid)
	}
	return s.do(func(b *batch) error {
		if _, err := b.get(domainKey(domain)); err != nil {
			return fmt.Errorf("alias %s: domain %s is not local: %w", addr, domain, ErrInvalid)
		}
		if _, err := b.get(addressKey(addr)); err == nil {
			return fmt.Errorf("alias %s: an account has that address: %w", addr, ErrExists)
		}
		return b.setJSON(aliasKey(addr), Alias{Address: addr, Targets: clean})
	})
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, addr string) error {
	addr = NormalizeAddress(addr)
	return s.do(func(b *batch) error {
		if _, err := b.get(aliasKey(addr)); err != nil {
			return fmt.Errorf("alias %s: %w", addr, err)
		}
		b.del(aliasKey(addr))
		return nil
	})
}

// Aliases lists every alias, sorted by address.
func (s *Store) Aliases(ctx context.Context) ([]Alias, error) {
	out, err := scanAll[Alias](s, []byte(tAlias))
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, err
}

// Recipients is where mail for an address goes.
type Recipients struct {
	Accounts []uint64 // local accounts, each once
	Remote   []string // remote addresses (aliases that forward out)
}

// Errors from Resolve.
var (
	ErrUnknownUser = errors.New("no such user")       // local domain, no such address
	ErrNotLocal    = errors.New("not a local domain") // relay territory
)

const maxAliasDepth = 8

// Resolve expands an address into local accounts and remote targets,
// following aliases, plus-addressing (user+tag@) and catch-alls. It returns
// ErrUnknownUser for a local domain without such an address, and
// ErrNotLocal for other domains.
func (s *Store) Resolve(ctx context.Context, addr string) (*Recipients, error) {
	r := &Recipients{}
	seen := map[string]bool{}
	err := s.view(func(txn *badger.Txn) error {
		return resolve(txn, NormalizeAddress(addr), r, seen, 0)
	})
	if err != nil {
		return nil, err
	}
	if len(r.Accounts) == 0 && len(r.Remote) == 0 {
		return nil, ErrUnknownUser
	}
	return r, nil
}

func resolve(txn *badger.Txn, addr string, r *Recipients, seen map[string]bool, depth int) error {
	if depth > maxAliasDepth {
		return ErrTooManyLevels
	}
	if seen[addr] {
		return nil
	}
	seen[addr] = true
	local, domain, ok := splitAddress(addr)
	if !ok {
		return fmt.Errorf("address %q: %w", addr, ErrInvalid)
	}
	if _, err := getValue(txn, domainKey(domain)); errors.Is(err, ErrNotFound) {
		if depth == 0 {
			return ErrNotLocal
		}
		r.Remote = appendOnce(r.Remote, addr)
		return nil
	}
	for _, candidate := range candidates(local, domain) {
		if raw, err := getValue(txn, addressKey(candidate)); err == nil {
			r.Accounts = appendOnceID(r.Accounts, idAt(raw, 0))
			return nil
		}
		var a Alias
		if err := getJSON(txn, aliasKey(candidate), &a); err == nil {
			for _, t := range a.Targets {
				if err := resolve(txn, t, r, seen, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if depth > 0 {
		return nil // a dangling alias target: skip it, the others still count
	}
	return ErrUnknownUser
}

// candidates lists the keys to try for local@domain, most specific first.
func candidates(local, domain string) []string {
	out := []string{local + "@" + domain}
	if i := strings.IndexByte(local, '+'); i > 0 {
		out = append(out, local[:i]+"@"+domain)
	}
	return append(out, "@"+domain)
}

// Owns reports whether account may use addr as a sender: its own address,
// its plus-addresses, and aliases that deliver to it.
func (s *Store) Owns(ctx context.Context, acct *Account, addr string) (bool, error) {
	addr = NormalizeAddress(addr)
	local, domain, ok := splitAddress(addr)
	if !ok {
		return false, nil
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if local+"@"+domain == acct.Address || slices.Contains(acct.SendAs, addr) || slices.Contains(acct.SendAs, "@"+domain) {
		return true, nil
	}
	var a Alias
	err := s.view(func(txn *badger.Txn) error { return getJSON(txn, aliasKey(local+"@"+domain), &a) })
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range a.Targets {
		if t == acct.Address {
			return true, nil
		}
	}
	return false, nil
}

func appendOnce(l []string, v string) []string {
	for _, x := range l {
		if x == v {
			return l
		}
	}
	return append(l, v)
}

func appendOnceID(l []uint64, v uint64) []uint64 {
	for _, x := range l {
		if x == v {
			return l
		}
	}
	return append(l, v)
}
