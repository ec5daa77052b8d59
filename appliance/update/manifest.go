package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Product is the only product name the agent accepts.
const Product = "facteur"

// Manifest describes one bundle. It is signed as the exact bytes of
// manifest.json.
type Manifest struct {
	Product string `json:"product"`
	Board   string `json:"board"`
	Version string `json:"version"`
	// Build increases with every release; the agent refuses a bundle
	// whose build is not above the running one unless forced.
	Build   uint64 `json:"build"`
	Channel string `json:"channel"` // "stable" or "beta"
	Notes   string `json:"notes,omitempty"`
	// Artifacts by file name in the bundle: root.squashfs and vmlinuz.
	Artifacts map[string]Artifact `json:"artifacts"`
}

// Artifact is one file of a bundle.
type Artifact struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// Signature is manifest.sig.
type Signature struct {
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"` // base64 ed25519 signature of manifest.json
}

// Key kinds: development images trust dev keys; release images only
// release keys. The two are made separately by mkimage keygen.
const (
	KindDev     = "dev"
	KindRelease = "release"
)

// PublicKey is a trusted key as stored in the image (<id>.pub, JSON).
type PublicKey struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Public string `json:"public"` // base64
}

// PrivateKey is a signing key (JSON file, kept off the device).
type PrivateKey struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Private string `json:"private"` // base64 ed25519 seed
}

// KeyID names a public key: its kind and the first bytes of its hash.
func KeyID(kind string, pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return kind + "-" + hex.EncodeToString(h[:6])
}

// NewKey makes a key pair of the given kind.
func NewKey(kind string) (PrivateKey, PublicKey, error) {
	if kind != KindDev && kind != KindRelease {
		return PrivateKey{}, PublicKey{}, fmt.Errorf("key kind %q: want %s or %s", kind, KindDev, KindRelease)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return PrivateKey{}, PublicKey{}, err
	}
	id := KeyID(kind, pub)
	return PrivateKey{ID: id, Kind: kind, Private: base64.StdEncoding.EncodeToString(priv.Seed())},
		PublicKey{ID: id, Kind: kind, Public: base64.StdEncoding.EncodeToString(pub)}, nil
}

// Sign signs manifest bytes.
func (k PrivateKey) Sign(manifest []byte) (Signature, error) {
	seed, err := base64.StdEncoding.DecodeString(k.Private)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Signature{}, fmt.Errorf("key %s: bad private key", k.ID)
	}
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), manifest)
	return Signature{KeyID: k.ID, Signature: base64.StdEncoding.EncodeToString(sig)}, nil
}

// Keyring is the set of keys an image trusts, by ID.
type Keyring map[string]ed25519.PublicKey

// LoadKeyring reads every *.pub file in dir.
func LoadKeyring(dir string) (Keyring, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil {
		return nil, err
	}
	kr := Keyring{}
	for _, n := range names {
		var pk PublicKey
		b, err := os.ReadFile(n)
		if err == nil {
			err = json.Unmarshal(b, &pk)
		}
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", n, err)
		}
		raw, err := base64.StdEncoding.DecodeString(pk.Public)
		if err != nil || len(raw) != ed25519.PublicKeySize || KeyID(pk.Kind, raw) != pk.ID {
			return nil, fmt.Errorf("key %s: malformed public key", n)
		}
		kr[pk.ID] = raw
	}
	return kr, nil
}

// ErrRefused marks every reason a bundle is refused.
var ErrRefused = errors.New("update refused")

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// Check decides whether a bundle may be installed on fw: its signature is by
// a trusted key, it is for this product and board, it names a root image,
// and its build is newer than the running one (unless force).
func Check(manifest []byte, sig Signature, keys Keyring, fw Firmware, force bool) (Manifest, error) {
	var m Manifest
	pub, ok := keys[sig.KeyID]
	if !ok {
		return m, refused("signed by key %q, which this firmware does not trust (trusted: %s)", sig.KeyID, strings.Join(keys.ids(), ", "))
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Signature)
	if err != nil || !ed25519.Verify(pub, manifest, raw) {
		return m, refused("bad signature: the manifest was not signed by key %s", sig.KeyID)
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return m, refused("manifest: %v", err)
	}
	switch {
	case m.Product != Product:
		return m, refused("bundle is for product %q, not %q", m.Product, Product)
	case m.Board != fw.Board:
		return m, refused("bundle is for board %q, this device is %q", m.Board, fw.Board)
	case m.Artifacts[RootArtifact].SHA256 == "":
		return m, refused("bundle has no %s", RootArtifact)
	case m.Build <= fw.Build && !force:
		return m, refused("bundle build %d (%s) is not newer than the running build %d (%s); use -force to install it anyway", m.Build, m.Version, fw.Build, fw.Version)
	}
	return m, nil
}

func (k Keyring) ids() []string {
	var ids []string
	for id := range k {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
