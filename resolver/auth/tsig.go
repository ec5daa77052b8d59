package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"sync"

	"github.com/miekg/dns"
)

type tsigKey struct {
	secret    string // base64
	algorithm string // canonical name
}

// keyring is a dns.TsigProvider (RFC 8945) whose keys change with the
// snapshot. A key is only used with the algorithm it was configured with.
type keyring struct {
	// mu protects keys.
	mu   sync.RWMutex
	keys map[string]tsigKey
}

func newKeyring() *keyring { return &keyring{keys: map[string]tsigKey{}} }

func (k *keyring) set(keys map[string]tsigKey) {
	k.mu.Lock()
	k.keys = keys
	k.mu.Unlock()
}

func (k *keyring) lookup(t *dns.TSIG) (tsigKey, error) {
	k.mu.RLock()
	key, ok := k.keys[dns.CanonicalName(t.Hdr.Name)]
	k.mu.RUnlock()
	if !ok {
		return tsigKey{}, dns.ErrSecret
	}
	if dns.CanonicalName(t.Algorithm) != key.algorithm {
		return tsigKey{}, dns.ErrKeyAlg
	}
	return key, nil
}

// Generate implements dns.TsigProvider.
func (k *keyring) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	key, err := k.lookup(t)
	if err != nil {
		return nil, err
	}
	return mac(key, msg)
}

// Verify implements dns.TsigProvider.
func (k *keyring) Verify(msg []byte, t *dns.TSIG) error {
	key, err := k.lookup(t)
	if err != nil {
		return err
	}
	want, err := mac(key, msg)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, want) {
		return dns.ErrSig
	}
	return nil
}

func mac(key tsigKey, msg []byte) ([]byte, error) {
	secret, err := base64.StdEncoding.DecodeString(key.secret)
	if err != nil {
		return nil, errors.New("tsig secret is not base64")
	}
	var h func() hash.Hash
	switch key.algorithm {
	case dns.HmacSHA1:
		h = sha1.New
	case dns.HmacSHA224:
		h = sha256.New224
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA384:
		h = sha512.New384
	case dns.HmacSHA512:
		h = sha512.New
	default:
		return nil, dns.ErrKeyAlg
	}
	m := hmac.New(h, secret)
	m.Write(msg)
	return m.Sum(nil), nil
}
