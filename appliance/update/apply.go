package update

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Apply installs the bundle at path into the inactive slot and arranges a
// one-time test boot of it. Nothing is written unless the bundle passes
// Verify. The caller reboots (d.Reboot) afterwards.
func Apply(d *Device, path string, fw Firmware, force bool) (Manifest, error) {
	keys, err := LoadKeyring(d.Keys)
	if err != nil {
		return Manifest{}, err
	}
	m, err := Verify(path, keys, fw, force)
	if err != nil {
		return m, err
	}
	slot := Other(d.Slot)
	if err := writeRoot(d.Parts[slotPart[slot]], path, m.Artifacts[RootArtifact]); err != nil {
		return m, fmt.Errorf("slot %s: %w", slot, err)
	}
	if err := d.withBoot(func(dir string) error { return writeBootFiles(dir, d.Slot, slot, path, m) }); err != nil {
		return m, fmt.Errorf("boot files of slot %s: %w", slot, err)
	}
	st, err := LoadState(d.Perm)
	if err != nil {
		return m, err
	}
	st.Pending = &Pending{Slot: slot, Version: m.Version, Build: m.Build}
	st.log(time.Now(), m.Version, m.Build, "written", "slot "+slot+"; test boot next")
	if err := st.save(d.Perm); err != nil {
		return m, err
	}
	if d.EFIVars != "" {
		return m, d.setOneShot(EntryName(slot))
	}
	return m, nil
}

// writeRoot writes the root image to the partition, syncs, then reads it
// back and compares the hash with the signed manifest.
func writeRoot(part, bundle string, a Artifact) error {
	f, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if size, err := f.Seek(0, io.SeekEnd); err == nil && size > 0 && size < a.Size && isDevice(part) {
		f.Close()
		return fmt.Errorf("root image (%d bytes) larger than the partition (%d bytes)", a.Size, size)
	}
	f.Seek(0, io.SeekStart)
	err = extract(bundle, RootArtifact, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return readBack(part, a)
}

func isDevice(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeDevice != 0
}

// readBack hashes the first a.Size bytes of path.
func readBack(path string, a Artifact) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, a.Size); err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != a.SHA256 {
		return errors.New("read back: written data does not match the bundle's hash")
	}
	return nil
}

// writeBootFiles writes the new slot's kernel (if the bundle has one) and
// its loader entry, derived from the running slot's entry.
func writeBootFiles(dir, cur, slot, bundle string, m Manifest) error {
	if a, ok := m.Artifacts[KernelArtifact]; ok {
		if err := writeKernel(dir, slot, bundle, a); err != nil {
			return err
		}
	}
	entries := filepath.Join(dir, "loader", "entries")
	old, err := os.ReadFile(filepath.Join(entries, EntryName(cur)))
	if err != nil {
		return err
	}
	entry := SlotEntry(string(old), slot, m.Version)
	return writeFileSync(filepath.Join(entries, EntryName(slot)), []byte(entry))
}

func writeKernel(dir, slot, bundle string, a Artifact) error {
	tmp := filepath.Join(dir, "vmlinuz.new")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = extract(bundle, KernelArtifact, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = readBack(tmp, a)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("kernel: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, KernelName(slot)))
}

// SlotEntry rewrites a systemd-boot entry of one slot for another: title,
// kernel file and PARTNROFF.
func SlotEntry(entry, slot, version string) string {
	var out bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(entry, "\n"), "\n") {
		key, _, _ := strings.Cut(l, " ")
		switch key {
		case "title":
			l = "title Facteur " + version + " (slot " + slot + ")"
		case "linux":
			l = "linux /" + KernelName(slot)
		case "options":
			l = rootRE.ReplaceAllStringFunc(l, func(s string) string {
				n := map[string]string{"a": "1", "b": "2"}[slot]
				return s[:strings.LastIndex(s, "=")+1] + n + s[strings.LastIndex(s, "=")+2:]
			})
		}
		out.WriteString(l + "\n")
	}
	return out.String()
}

// writeFileSync replaces a file through a temporary file and rename.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".new"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// LoaderConf is loader/loader.conf choosing slot's entry.
func LoaderConf(slot string) string {
	return "timeout 0\ndefault " + EntryName(slot) + "\n"
}

// commit makes slot the default boot entry.
func (d *Device) commit(slot string) error {
	return d.withBoot(func(dir string) error {
		return writeFileSync(filepath.Join(dir, "loader", "loader.conf"), []byte(LoaderConf(slot)))
	})
}
