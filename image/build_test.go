package image

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"facteur/appliance/update"
	"facteur/hardware"
)

func needTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles the firmware: skipped with -short")
	}
	for _, tool := range []string{"mksquashfs", "mformat", "mcopy", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps)", tool)
		}
	}
}

func fileHash(t *testing.T, p string) [32]byte {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// TestReproducible builds the same image twice (same seed and time) and
// compares the bytes; a different seed gives different partition GUIDs.
func TestReproducible(t *testing.T) {
	needTools(t)
	if _, err := os.Stat(systemdBoot); err != nil {
		t.Skip("systemd-boot not installed (make deps)")
	}
	b, _ := hardware.Lookup("pc")
	var sums [2][32]byte
	var guids [3]string
	for i, seed := range []string{"same", "same", "other"} {
		r := buildImage(t, Options{Board: b, Version: "r", Build: 1, Seed: seed, Epoch: 1700000000, PermMiB: 64, Out: t.TempDir()})
		if i < 2 {
			sums[i] = fileHash(t, r.Image)
		}
		guids[i] = r.BootGUID
	}
	if sums[0] != sums[1] {
		t.Error("two builds with the same inputs differ")
	}
	if guids[0] != guids[1] || guids[0] == guids[2] {
		t.Errorf("boot partition GUIDs %v: want equal for the same seed, different for another", guids)
	}
}

// TestRPi4Image builds an arm64 image for the Raspberry Pi 4 (it cannot be
// booted here) and checks its boot partition's files.
func TestRPi4Image(t *testing.T) {
	needTools(t)
	b, _ := hardware.Lookup("rpi4")
	dir := t.TempDir()
	r := buildImage(t, Options{Board: b, Version: "pi", Build: 1, Seed: "pi", PermMiB: 64, Out: dir, Work: filepath.Join(dir, "work")})
	for _, f := range []string{"config.txt", "cmdline-a.txt", update.KernelName("a"), "start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb"} {
		out, err := exec.Command("mtype", "-i", filepath.Join(dir, "work", "boot.fat"), "::/"+f).Output()
		if err != nil || len(out) == 0 {
			t.Errorf("boot partition lacks %s: %v", f, err)
		}
	}
	cfg, _ := exec.Command("mtype", "-i", filepath.Join(dir, "work", "boot.fat"), "::/config.txt").Output()
	if !bytes.Contains(cfg, []byte("kernel=vmlinuz-a")) || !bytes.Contains(cfg, []byte("cmdline=cmdline-a.txt")) {
		t.Errorf("config.txt = %q", cfg)
	}
	hdr := make([]byte, 512)
	f, _ := os.Open(r.Image)
	f.ReadAt(hdr, 0)
	f.Close()
	if hdr[446] != 0x80 || hdr[450] != 0x0c || hdr[466] != 0xee {
		t.Errorf("hybrid MBR entries: status %#x type %#x, second type %#x", hdr[446], hdr[450], hdr[466])
	}
	if out, err := exec.Command("file", "-L", filepath.Join(dir, "work", "root", "user", "facteur")).Output(); err == nil && !bytes.Contains(out, []byte("aarch64")) {
		t.Errorf("facteur is not an arm64 binary: %s", out)
	}
}
