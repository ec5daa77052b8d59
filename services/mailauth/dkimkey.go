package mailauth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
)

// This file is the key and signature side of DKIM for the ARC checks,
// which go-msgauth does not do: key records (RFC 6376 section 3.6.1) and
// the rsa-sha256 and ed25519-sha256 algorithms (RFC 8301, RFC 8463).

// errTempKey marks a key lookup that failed for a reason that may pass.
var errTempKey = errors.New("dkim key lookup failed temporarily")

// lookupKey fetches and parses the public key at <sel>._domainkey.<domain>.
func (v *Verifier) lookupKey(ctx context.Context, domain, sel string) (crypto.PublicKey, error) {
	txts, err := v.resolver().LookupTXT(ctx, sel+"._domainkey."+domain)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && !dnsErr.IsNotFound {
		return nil, fmt.Errorf("%w: %v", errTempKey, err)
	} else if err != nil {
		return nil, err
	}
	if len(txts) != 1 {
		return nil, fmt.Errorf("%d key records, want 1", len(txts))
	}
	return parseKeyRecord(txts[0])
}

// parseKeyRecord reads a DKIM key record: v=DKIM1 if present, k= rsa (the
// default) or ed25519, p= the key, h= if present including sha256, s= if
// present allowing email.
func parseKeyRecord(txt string) (crypto.PublicKey, error) {
	tags := parseTags(txt)
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return nil, fmt.Errorf("key record version %q", v)
	}
	if h, ok := tags["h"]; ok && !hasListItem(h, "sha256") {
		return nil, errors.New("key not for sha256")
	}
	if s, ok := tags["s"]; ok && !hasListItem(s, "email") && !hasListItem(s, "*") {
		return nil, errors.New("key not for email")
	}
	if tags["p"] == "" {
		return nil, errors.New("key revoked")
	}
	p, err := base64.StdEncoding.DecodeString(tags["p"])
	if err != nil {
		return nil, fmt.Errorf("key p=: %w", err)
	}
	switch k := tags["k"]; k {
	case "", "rsa":
		pub, err := x509.ParsePKIXPublicKey(p)
		if err != nil {
			pub, err = x509.ParsePKCS1PublicKey(p)
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if err != nil || !ok {
			return nil, errors.New("key p= is not an RSA public key")
		}
		if rsaPub.N.BitLen() < 1024 {
			return nil, errors.New("RSA key shorter than 1024 bits") // RFC 8301 section 3.2
		}
		return rsaPub, nil
	case "ed25519":
		if len(p) != ed25519.PublicKeySize {
			return nil, errors.New("key p= is not an Ed25519 public key")
		}
		return ed25519.PublicKey(p), nil
	default:
		return nil, fmt.Errorf("key type %q", k)
	}
}

func hasListItem(list, item string) bool {
	for _, x := range strings.Split(list, ":") {
		if strings.EqualFold(strings.TrimSpace(x), item) {
			return true
		}
	}
	return false
}

// verifySig checks sig over the SHA-256 digest with algorithm a.
func verifySig(a string, pub crypto.PublicKey, digest, sig []byte) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if a == "rsa-sha256" {
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig)
		}
	case ed25519.PublicKey:
		if a == "ed25519-sha256" && ed25519.Verify(pub, digest, sig) {
			return nil
		} else if a == "ed25519-sha256" {
			return errors.New("ed25519 signature does not verify")
		}
	}
	return fmt.Errorf("algorithm %q does not fit the key", a)
}

// digestHeader hashes the fields names selects (bottom-up, RFC 6376
// section 5.4.2) and then sigField with its b= value removed and no final
// line break, canonicalized by canon.
func digestHeader(h *header, names []string, sigField string, canon func(string) string) []byte {
	bottomUp := map[string][]string{}
	for i := len(h.Fields) - 1; i >= 0; i-- {
		n := strings.ToLower(h.Fields[i].Name)
		bottomUp[n] = append(bottomUp[n], h.Fields[i].Raw)
	}
	hash := sha256.New()
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if fs := bottomUp[n]; len(fs) > 0 {
			hash.Write([]byte(canon(fs[0])))
			bottomUp[n] = fs[1:]
		}
	}
	hash.Write([]byte(strings.TrimRight(canon(withoutB(sigField)), "\r\n")))
	return hash.Sum(nil)
}

// withoutB returns a signature field with the value of its b= tag deleted,
// with the whitespace around it (RFC 6376 section 3.7).
func withoutB(raw string) string {
	name, value, _ := strings.Cut(raw, ":")
	end := strings.TrimRight(value, "\r\n")
	ending, value := value[len(end):], end
	parts := strings.Split(value, ";")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if ok && strings.TrimSpace(k) == "b" {
			parts[i] = p[:strings.IndexByte(p, '=')+1]
		}
	}
	return name + ":" + strings.Join(parts, ";") + ending
}

// simpleHeader is the "simple" header canonicalization (RFC 6376 section
// 3.4.1): the field unchanged, with CRLF line endings.
func simpleHeader(raw string) string {
	return strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
}
