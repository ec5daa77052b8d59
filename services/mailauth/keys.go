package mailauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Key is one DKIM signing key of a domain.
type Key struct {
	Domain     string    `json:"domain"`
	Selector   string    `json:"selector"`
	Algorithm  string    `json:"algorithm"`   // "ed25519" or "rsa"
	PrivatePEM []byte    `json:"private_pem"` // PKCS#8 PEM
	Created    time.Time `json:"created"`
}

// rsaBits is the size of new RSA keys: RFC 8301 requires at least 1024 and
// recommends 2048, which every verifier accepts.
const rsaBits = 2048

// NewKeys makes a domain's two keys, ed25519 and rsa-2048; selectors carry
// the date so keys can be rotated, e.g. "f20261123e" and "f20261123r".
// Mail is signed with both (RFC 8463 section 3 suggests this, as not every
// verifier knows Ed25519 yet).
func NewKeys(domain string, now time.Time) ([]Key, error) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	rsaPriv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("generate rsa key: %w", err)
	}
	date := now.UTC().Format("20060102")
	var keys []Key
	for _, k := range []struct {
		alg, suffix string
		priv        crypto.Signer
	}{{"ed25519", "e", edPriv}, {"rsa", "r", rsaPriv}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, fmt.Errorf("marshal %s key: %w", k.alg, err)
		}
		keys = append(keys, Key{
			Domain:     domain,
			Selector:   "f" + date + k.suffix,
			Algorithm:  k.alg,
			PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
			Created:    now,
		})
	}
	return keys, nil
}

// Record returns the TXT record publishing k: owner name
// "<sel>._domainkey.<domain>." and the text "v=DKIM1; k=ed25519; p=..."
// (rsa: k=rsa, p= base64 SubjectPublicKeyInfo). An RSA record is longer
// than one 255-byte TXT string: the zone must split it into several strings
// of one record. If the key cannot be read, text is empty.
func (k Key) Record() (name, text string) {
	name = k.Selector + "._domainkey." + k.Domain + "."
	s, err := k.signer()
	if err != nil {
		return name, ""
	}
	var p []byte
	switch pub := s.Public().(type) {
	case ed25519.PublicKey:
		p = pub // RFC 8463 section 4.2: the raw 32-byte key
	default:
		if p, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return name, ""
		}
	}
	return name, "v=DKIM1; k=" + k.Algorithm + "; p=" + base64.StdEncoding.EncodeToString(p)
}

// signer parses k's private key and checks that it matches k.Algorithm.
func (k Key) signer() (crypto.Signer, error) {
	block, _ := pem.Decode(k.PrivatePEM)
	if block == nil {
		return nil, errors.New("dkim key: no PEM block")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	switch priv := priv.(type) {
	case ed25519.PrivateKey:
		if k.Algorithm == "ed25519" {
			return priv, nil
		}
	case *rsa.PrivateKey:
		if k.Algorithm == "rsa" {
			return priv, nil
		}
	}
	return nil, fmt.Errorf("dkim key: %T is not an %q key", priv, k.Algorithm)
}
