package update

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Names of the artifacts in a bundle.
const (
	RootArtifact   = "root.squashfs"
	KernelArtifact = "vmlinuz"
)

// Bundle file layout: a tar archive whose first entry is manifest.json,
// second manifest.sig, followed by the artifacts the manifest lists, in
// any order.
const (
	manifestName = "manifest.json"
	sigName      = "manifest.sig"
)

// maxManifest bounds what is read before the signature is checked.
const maxManifest = 1 << 20

// WriteBundle writes a bundle to w: the signed manifest, then each artifact
// from files (artifact name → path). The artifact sizes and hashes must
// already be in m.
func WriteBundle(w io.Writer, manifest []byte, sig Signature, files map[string]string, order []string) error {
	tw := tar.NewWriter(w)
	sigb, _ := json.Marshal(sig)
	for _, e := range []struct {
		name string
		b    []byte
	}{{manifestName, manifest}, {sigName, sigb}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.b)), Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(e.b); err != nil {
			return err
		}
	}
	for _, name := range order {
		if err := addFile(tw, name, files[name]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// HashFile returns a file's size and sha256 as an Artifact.
func HashFile(path string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return Artifact{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// readHead reads a bundle's manifest and signature.
func readHead(tr *tar.Reader) ([]byte, Signature, error) {
	var sig Signature
	var parts [2][]byte
	for i, want := range []string{manifestName, sigName} {
		h, err := tr.Next()
		if err != nil {
			return nil, sig, refused("not a bundle: %v", err)
		}
		if h.Name != want || h.Size > maxManifest {
			return nil, sig, refused("not a bundle: entry %d is %q, want %q", i+1, h.Name, want)
		}
		if parts[i], err = io.ReadAll(tr); err != nil {
			return nil, sig, refused("not a bundle: %v", err)
		}
	}
	if err := json.Unmarshal(parts[1], &sig); err != nil {
		return nil, sig, refused("manifest.sig: %v", err)
	}
	return parts[0], sig, nil
}

// Verify opens the bundle at path, checks its manifest (see Check), then
// reads every artifact and compares its size and hash with the manifest.
// Nothing is written anywhere.
func Verify(path string, keys Keyring, fw Firmware, force bool) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	mb, sig, err := readHead(tr)
	if err != nil {
		return Manifest{}, err
	}
	m, err := Check(mb, sig, keys, fw, force)
	if err != nil {
		return m, err
	}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, refused("bundle truncated: %v", err)
		}
		if err := checkArtifact(m, h.Name, tr); err != nil {
			return m, err
		}
		seen[h.Name] = true
	}
	for name := range m.Artifacts {
		if !seen[name] {
			return m, refused("bundle lacks %s", name)
		}
	}
	return m, nil
}

func checkArtifact(m Manifest, name string, r io.Reader) error {
	a, ok := m.Artifacts[name]
	if !ok {
		return refused("bundle holds %q, which the manifest does not list", name)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return refused("reading %s: %v", name, err)
	}
	if n != a.Size || hex.EncodeToString(h.Sum(nil)) != a.SHA256 {
		return refused("%s does not match the signed manifest (corrupt or tampered)", name)
	}
	return nil
}

// extract copies artifact name out of a verified bundle into w.
func extract(path, name string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("bundle: %s: %w", name, err)
		}
		if h.Name == name {
			_, err = io.Copy(w, tr)
			return err
		}
	}
}
