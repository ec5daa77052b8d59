package mailstore

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: RFC 9106's second recommended option scaled to a
// small box (19 MiB, 2 passes), the OWASP minimum.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// CheckPassword reports whether password matches a hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || p == 0 || t == 0 || m > 1<<20 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// authCache remembers recent successful logins so that a mail client
// opening many connections does not pay for argon2id on each one. It holds
// an HMAC of the password under a per-process random key, never the
// password, and entries expire after authCacheTTL or when the password hash
// changes.
type authCache struct {
	// mu guards key and entries.
	mu      sync.Mutex
	key     []byte
	entries map[string]authEntry
}

type authEntry struct {
	hash    string // the stored hash this entry was verified against
	mac     []byte
	expires time.Time
}

const authCacheTTL = 10 * time.Minute

func (c *authCache) mac(addr, password string) []byte {
	if c.key == nil {
		c.key = make([]byte, 32)
		rand.Read(c.key)
		c.entries = map[string]authEntry{}
	}
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(addr))
	h.Write([]byte{0})
	h.Write([]byte(password))
	return h.Sum(nil)
}

func (c *authCache) ok(addr, hash, password string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[addr]
	if !found || e.hash != hash || now.After(e.expires) {
		return false
	}
	return hmac.Equal(e.mac, c.mac(addr, password))
}

func (c *authCache) remember(addr, hash, password string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.mac(addr, password)
	if len(c.entries) > 10000 {
		clear(c.entries)
	}
	c.entries[addr] = authEntry{hash: hash, mac: m, expires: now.Add(authCacheTTL)}
}

// kdfGate bounds the argon2id computations running at once: each needs
// argonMemory KiB, so a burst of logins must not exhaust a small box. When
// the last one finishes, the memory they used goes back to the system (Go
// would otherwise keep it for minutes, which is most of the core's
// resident size at idle).
type kdfGate struct {
	slots chan struct{}

	// mu guards running and freeing.
	mu      sync.Mutex
	running int
	freeing bool
}

func newKDFGate(n int) *kdfGate { return &kdfGate{slots: make(chan struct{}, n)} }

// run runs fn when a slot is free.
func (g *kdfGate) run(fn func()) {
	g.slots <- struct{}{}
	g.mu.Lock()
	g.running++
	g.mu.Unlock()
	defer func() {
		<-g.slots
		g.mu.Lock()
		g.running--
		idle := g.running == 0 && !g.freeing
		if idle {
			g.freeing = true
		}
		g.mu.Unlock()
		if idle {
			go g.release()
		}
	}()
	fn()
}

// release returns freed memory to the system once hashing has stopped.
func (g *kdfGate) release() {
	debug.FreeOSMemory()
	g.mu.Lock()
	g.freeing = false
	g.mu.Unlock()
}

// hash and check are HashPassword and CheckPassword through the gate.
func (g *kdfGate) hash(password string) (h string, err error) {
	g.run(func() { h, err = HashPassword(password) })
	return h, err
}

func (g *kdfGate) check(hash, password string) (ok bool) {
	g.run(func() { ok = CheckPassword(hash, password) })
	return ok
}
