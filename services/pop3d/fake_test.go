package pop3d

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
)

// memBackend is an in-memory Backend for tests: users with passwords and
// INBOXes, a lock per maildrop, and hooks to inject failures.
type memBackend struct {
	// mu protects everything below.
	mu        sync.Mutex
	users     map[string]*memUser
	locked    map[string]bool
	closes    int   // Maildrop.Close calls
	commits   int   // Maildrop.Commit calls
	loginErr  error // returned by Login for correct credentials
	openErr   error // returned by Open
	commitErr error // returned by Commit
	openHook  func(Message)
}

type memUser struct {
	password string
	msgs     []memMessage
}

type memMessage struct {
	uid  string
	body string
}

func newMemBackend() *memBackend {
	return &memBackend{users: make(map[string]*memUser), locked: make(map[string]bool)}
}

// addUser adds a user with messages; their UIDs are "uid1", "uid2", ...
func (b *memBackend) addUser(name, password string, bodies ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := &memUser{password: password}
	for i, body := range bodies {
		u.msgs = append(u.msgs, memMessage{uid: "uid" + string(rune('1'+i)), body: body})
	}
	b.users[name] = u
}

// uids returns the UIDs left in a user's INBOX.
func (b *memBackend) uids(name string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var uids []string
	for _, m := range b.users[name].msgs {
		uids = append(uids, m.uid)
	}
	return uids
}

// expunge removes a message as an IMAP session would.
func (b *memBackend) expunge(name, uid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[name]
	for i, m := range u.msgs {
		if m.uid == uid {
			u.msgs = append(u.msgs[:i], u.msgs[i+1:]...)
			return
		}
	}
}

func (b *memBackend) counts() (closes, commits int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closes, b.commits
}

func (b *memBackend) isLocked(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.locked[name]
}

func (b *memBackend) Login(ctx context.Context, username, password string, remote net.Addr) (Maildrop, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[username]
	if !ok || u.password != password {
		return nil, ErrAuthFailed
	}
	if b.loginErr != nil {
		return nil, b.loginErr
	}
	if b.locked[username] {
		return nil, ErrInUse
	}
	b.locked[username] = true
	md := &memMaildrop{b: b, user: username}
	for _, m := range u.msgs {
		md.msgs = append(md.msgs, Message{UID: m.uid, Size: wireSize(m.body), Ref: m.uid})
	}
	return md, nil
}

// wireSize is the size of body as RETR sends it: with CRLF line endings
// and a final one.
func wireSize(body string) int64 {
	n := len(body) + strings.Count(body, "\n") - strings.Count(body, "\r\n")
	if body != "" && !strings.HasSuffix(body, "\n") {
		n += 2
	}
	return int64(n)
}

type memMaildrop struct {
	b    *memBackend
	user string
	msgs []Message
}

func (md *memMaildrop) Messages() []Message { return md.msgs }

func (md *memMaildrop) Open(ctx context.Context, m Message) (io.ReadCloser, error) {
	b := md.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openHook != nil {
		b.openHook(m)
	}
	if b.openErr != nil {
		return nil, b.openErr
	}
	for _, mm := range b.users[md.user].msgs {
		if mm.uid == m.Ref.(string) {
			return io.NopCloser(bytes.NewReader([]byte(mm.body))), nil
		}
	}
	return nil, ErrExpunged
}

func (md *memMaildrop) Commit(ctx context.Context, deleted []Message) error {
	b := md.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.commits++
	if b.commitErr != nil {
		return b.commitErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	gone := make(map[string]bool)
	for _, m := range deleted {
		gone[m.Ref.(string)] = true
	}
	u := b.users[md.user]
	kept := u.msgs[:0]
	for _, m := range u.msgs {
		if !gone[m.uid] {
			kept = append(kept, m)
		}
	}
	u.msgs = kept
	return nil
}

func (md *memMaildrop) Close() error {
	b := md.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.locked[md.user] {
		return errors.New("memMaildrop: closed twice")
	}
	b.locked[md.user] = false
	b.closes++
	return nil
}
