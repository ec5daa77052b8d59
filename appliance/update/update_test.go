package update

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fixture struct {
	dir  string
	key  PrivateKey
	dev  *Device
	fw   Firmware
	root []byte // the bundle's root image
}

// newFixture makes a trusted dev key, a fake disk (partition files, a boot
// directory with slot a's entry) and firmware build 5 on board pc.
func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: t.TempDir(), fw: Firmware{Product: Product, Board: "pc", Version: "1.5", Build: 5, Channel: "stable"}}
	priv, pub, err := NewKey(KindDev)
	if err != nil {
		t.Fatal(err)
	}
	f.key = priv
	keys := filepath.Join(f.dir, "keys")
	os.MkdirAll(keys, 0o755)
	pb, _ := json.Marshal(pub)
	os.WriteFile(filepath.Join(keys, pub.ID+".pub"), pb, 0o644)
	boot := filepath.Join(f.dir, "boot")
	os.MkdirAll(filepath.Join(boot, "loader", "entries"), 0o755)
	os.WriteFile(filepath.Join(boot, "loader", "entries", EntryName("a")),
		[]byte("title Facteur 1.5 (slot a)\nlinux /vmlinuz-a\noptions console=ttyS0 root=PARTUUID=A9B4D9AE-D952-4E42-B782-28B82BF4A383/PARTNROFF=1 ro\n"), 0o644)
	f.dev = &Device{Slot: "a", BootDir: boot, Perm: filepath.Join(f.dir, "perm"), Keys: keys,
		Reboot: func() error { return nil }}
	for n := 1; n <= 4; n++ {
		f.dev.Parts[n] = filepath.Join(f.dir, "part"+string(rune('0'+n)))
		os.WriteFile(f.dev.Parts[n], make([]byte, 4096), 0o644)
	}
	f.root = bytes.Repeat([]byte("squashfs"), 300)
	return f
}

// bundle writes a bundle for m signed by key.
func (f *fixture) bundle(t *testing.T, m Manifest, key PrivateKey) string {
	t.Helper()
	rootPath := filepath.Join(f.dir, "root.squashfs")
	kernPath := filepath.Join(f.dir, "vmlinuz")
	os.WriteFile(rootPath, f.root, 0o644)
	os.WriteFile(kernPath, []byte("kernel"), 0o644)
	m.Artifacts = map[string]Artifact{}
	for name, p := range map[string]string{RootArtifact: rootPath, KernelArtifact: kernPath} {
		a, err := HashFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m.Artifacts[name] = a
	}
	mb, _ := json.Marshal(m)
	sig, err := key.Sign(mb)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(f.dir, "b.bundle")
	w, _ := os.Create(out)
	defer w.Close()
	files := map[string]string{RootArtifact: rootPath, KernelArtifact: kernPath}
	if err := WriteBundle(w, mb, sig, files, []string{RootArtifact, KernelArtifact}); err != nil {
		t.Fatal(err)
	}
	return out
}

func good() Manifest {
	return Manifest{Product: Product, Board: "pc", Version: "1.6", Build: 6, Channel: "stable"}
}

// untouched checks that no partition and no boot file changed.
func (f *fixture) untouched(t *testing.T) {
	t.Helper()
	for n := 1; n <= 4; n++ {
		b, _ := os.ReadFile(f.dev.Parts[n])
		if !bytes.Equal(b, make([]byte, 4096)) {
			t.Errorf("partition %d was written", n)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dev.BootDir, "loader", "entries", EntryName("b"))); err == nil {
		t.Error("slot b's boot entry was written")
	}
	if st, _ := LoadState(f.dev.Perm); st.Pending != nil {
		t.Error("an update is pending")
	}
}

func TestApplyRefuses(t *testing.T) {
	other, _, _ := NewKey(KindRelease)
	tests := []struct {
		name   string
		edit   func(*Manifest)
		key    func(f *fixture) PrivateKey
		tamper bool
		want   string
	}{
		{name: "untrusted key", key: func(*fixture) PrivateKey { return other }, want: "does not trust"},
		{name: "bad signature", key: func(f *fixture) PrivateKey { k := other; k.ID = f.key.ID; return k }, want: "bad signature"},
		{name: "other board", edit: func(m *Manifest) { m.Board = "rpi4" }, want: `for board "rpi4", this device is "pc"`},
		{name: "older build", edit: func(m *Manifest) { m.Build = 4 }, want: "not newer than the running build 5"},
		{name: "same build", edit: func(m *Manifest) { m.Build = 5 }, want: "not newer"},
		{name: "other product", edit: func(m *Manifest) { m.Product = "toaster" }, want: "product"},
		{name: "tampered root", tamper: true, want: "does not match the signed manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			m := good()
			if tc.edit != nil {
				tc.edit(&m)
			}
			key := f.key
			if tc.key != nil {
				key = tc.key(f)
			}
			path := f.bundle(t, m, key)
			if tc.tamper {
				b, _ := os.ReadFile(path)
				i := bytes.Index(b, []byte("squashfssquashfs"))
				b[i] = 'X'
				os.WriteFile(path, b, 0o644)
			}
			_, err := Apply(f.dev, path, f.fw, false)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply: got %v, want a refusal containing %q", err, tc.want)
			}
			f.untouched(t)
		})
	}
}

func TestApplyWritesInactiveSlot(t *testing.T) {
	f := newFixture(t)
	path := f.bundle(t, good(), f.key)
	m, err := Apply(f.dev, path, f.fw, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.dev.Parts[3])
	if !bytes.HasPrefix(got, f.root) {
		t.Error("slot b (partition 3) does not hold the root image")
	}
	if b, _ := os.ReadFile(f.dev.Parts[2]); !bytes.Equal(b, make([]byte, 4096)) {
		t.Error("the running slot a was written")
	}
	entry, _ := os.ReadFile(filepath.Join(f.dev.BootDir, "loader", "entries", EntryName("b")))
	for _, want := range []string{"linux /vmlinuz-b\n", "/PARTNROFF=2 ro", "title Facteur 1.6 (slot b)"} {
		if !strings.Contains(string(entry), want) {
			t.Errorf("slot b entry %q lacks %q", entry, want)
		}
	}
	if k, _ := os.ReadFile(filepath.Join(f.dev.BootDir, "vmlinuz-b")); string(k) != "kernel" {
		t.Errorf("vmlinuz-b = %q", k)
	}
	st, _ := LoadState(f.dev.Perm)
	if st.Pending == nil || st.Pending.Slot != "b" || st.Pending.Build != m.Build {
		t.Errorf("pending = %+v", st.Pending)
	}
}

func TestForceAllowsOlder(t *testing.T) {
	f := newFixture(t)
	m := good()
	m.Build = 3
	if _, err := Apply(f.dev, f.bundle(t, m, f.key), f.fw, true); err != nil {
		t.Fatalf("forced downgrade: %v", err)
	}
}

func TestParseRoot(t *testing.T) {
	for _, tc := range []struct{ cmdline, guid, slot string }{
		{"console=tty1 root=PARTUUID=a9b4d9ae-d952-4e42-b782-28b82bf4a383/PARTNROFF=1 ro", "A9B4D9AE-D952-4E42-B782-28B82BF4A383", "a"},
		{"root=PARTUUID=a9b4d9ae-d952-4e42-b782-28b82bf4a383/PARTNROFF=2", "A9B4D9AE-D952-4E42-B782-28B82BF4A383", "b"},
	} {
		g, s, err := ParseRoot(tc.cmdline)
		if err != nil || g != tc.guid || s != tc.slot {
			t.Errorf("ParseRoot(%q) = %s, %s, %v; want %s, %s", tc.cmdline, g, s, err, tc.guid, tc.slot)
		}
	}
	if _, _, err := ParseRoot("root=/dev/sda2"); err == nil {
		t.Error("ParseRoot(root=/dev/sda2) succeeded")
	}
}

func TestFeedPick(t *testing.T) {
	f := Feed{Bundles: []FeedEntry{
		{Board: "pc", Channel: "stable", Build: 7}, {Board: "pc", Channel: "beta", Build: 9},
		{Board: "rpi4", Channel: "stable", Build: 8}, {Board: "pc", Channel: "stable", Build: 6},
	}}
	if e, ok := f.Pick("pc", "stable", 5); !ok || e.Build != 7 {
		t.Errorf("Pick = %+v, %v; want build 7", e, ok)
	}
	if _, ok := f.Pick("pc", "stable", 7); ok {
		t.Error("Pick offered a build not newer than 7")
	}
}

// FuzzReadBundle feeds arbitrary bytes (a downloaded file) to Verify.
func FuzzReadBundle(f *testing.F) {
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "x")
		os.WriteFile(p, b, 0o644)
		if _, err := Verify(p, Keyring{}, Firmware{Board: "pc"}, false); err == nil {
			t.Fatal("Verify accepted a bundle with no trusted key")
		}
	})
}
