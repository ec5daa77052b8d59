package appliance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"facteur/appliance"
	"facteur/appliance/update"
)

// updateDevice is a disk made of files (partitions, a boot directory) for
// the real update agent, with trusted key `key`.
type updateDevice struct {
	dev     *update.Device
	key     update.PrivateKey
	reboots atomic.Int32
	dir     string
}

func newUpdateDevice(t *testing.T, dir string) *updateDevice {
	u := &updateDevice{dir: dir}
	priv, pub, err := update.NewKey(update.KindDev)
	if err != nil {
		t.Fatal(err)
	}
	u.key = priv
	keys := filepath.Join(dir, "keys")
	os.MkdirAll(keys, 0o755)
	pb, _ := json.Marshal(pub)
	os.WriteFile(filepath.Join(keys, pub.ID+".pub"), pb, 0o644)
	boot := filepath.Join(dir, "boot")
	os.MkdirAll(filepath.Join(boot, "loader", "entries"), 0o755)
	os.WriteFile(filepath.Join(boot, "loader", "entries", update.EntryName("a")),
		[]byte("title Facteur 1.5 (slot a)\nlinux /vmlinuz-a\noptions root=PARTUUID=A9B4D9AE-D952-4E42-B782-28B82BF4A383/PARTNROFF=1 ro\n"), 0o644)
	u.dev = &update.Device{Slot: "a", BootDir: boot, Perm: filepath.Join(dir, "perm"), Keys: keys,
		Reboot: func() error { u.reboots.Add(1); return nil }}
	for n := 1; n <= 4; n++ {
		u.dev.Parts[n] = filepath.Join(dir, "part"+string(rune('0'+n)))
		os.WriteFile(u.dev.Parts[n], make([]byte, 4096), 0o644)
	}
	return u
}

// bundle writes a bundle of version/build signed by key; its root image
// is the version's name repeated.
func (u *updateDevice) bundle(t *testing.T, version string, build uint64, key update.PrivateKey) []byte {
	root := filepath.Join(u.dir, "root-"+version)
	os.WriteFile(root, bytes.Repeat([]byte(version), 1000), 0o644)
	a, _ := update.HashFile(root)
	m := update.Manifest{Product: update.Product, Board: "pc", Version: version, Build: build, Channel: "stable",
		Notes: "Version " + version + " notes.", Artifacts: map[string]update.Artifact{update.RootArtifact: a}}
	mb, _ := json.Marshal(m)
	sig, err := key.Sign(mb)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := update.WriteBundle(&out, mb, sig, map[string]string{update.RootArtifact: root}, []string{update.RootArtifact}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestWebUpdateUpload: an admin uploads a bundle on the update page of a
// real core; the real update agent beside it writes the spare slot when
// the admin clicks "Install now". A bundle signed by an unknown key is
// refused with a clear message and nothing is written.
func TestWebUpdateUpload(t *testing.T) {
	dir := t.TempDir()
	u := newUpdateDevice(t, dir)
	fw := update.Firmware{Product: update.Product, Board: "pc", Version: "1.5", Build: 5, Channel: "stable"}
	data := filepath.Join(dir, "data")
	core := runCore(t, appliance.Options{DataDir: data, Bind: "127.0.0.1",
		Update: &appliance.UpdateOptions{Perm: u.dev.Perm, Keys: u.dev.Keys, Firmware: fw}})
	facteur(t, "admin-password-1\n", "setup", "-data", data, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	agent := &update.Agent{Device: u.dev, Firmware: fw, Logf: t.Logf, Tick: 20 * time.Millisecond}
	go func() { agent.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	base := core.AdminURL()
	w := newWebClient(t)
	w.login(base, "admin@example.test", "admin-password-1")
	page := func() string { w.do("GET", base+"admin/updates", nil); return w.last }
	if p := page(); !strings.Contains(p, "Facteur <b>1.5</b> (build 5") || !strings.Contains(p, "Upload and check") {
		t.Fatalf("update page:\n%s", p)
	}

	w.post(base+"admin/updates/policy", map[string][]string{"auto": {"off"}, "channel": {"beta"}, "feed": {"http://127.0.0.1:9/feed.json"}})
	if p := update.ReadPolicy(update.Dir(u.dev.Perm), update.DefaultPolicy); p.Auto != "off" || p.Channel != "beta" {
		t.Errorf("saved policy = %+v", p)
	}
	if got := update.FeedURL(u.dev.Perm); got != "http://127.0.0.1:9/feed.json" {
		t.Errorf("feed = %q", got)
	}
	page()
	w.post(base+"admin/updates/policy", map[string][]string{"auto": {"off"}, "feed": {"ftp://x"}})
	if p := page(); !strings.Contains(p, "want an http:// or https:// URL") {
		t.Errorf("a bad feed address is not refused on the page")
	}

	stranger, _, _ := update.NewKey(update.KindRelease)
	w.postFiles(base+"admin/updates/upload", map[string][]byte{"bundle": u.bundle(t, "1.6", 6, stranger)})
	if p := page(); !strings.Contains(p, "does not trust") {
		t.Errorf("untrusted bundle: no refusal on the page:\n%s", p)
	}
	w.postFiles(base+"admin/updates/upload", map[string][]byte{"bundle": u.bundle(t, "1.4", 4, u.key)})
	if p := page(); !strings.Contains(p, "not newer than the running build 5") {
		t.Errorf("older bundle: no refusal on the page")
	}
	if _, err := os.Stat(filepath.Join(update.Dir(u.dev.Perm), update.UploadFile)); err == nil {
		t.Fatal("a refused bundle was kept")
	}

	w.postFiles(base+"admin/updates/upload", map[string][]byte{"bundle": u.bundle(t, "1.6", 6, u.key)})
	p := page()
	for _, want := range []string{"Update 1.6 (build 6) uploaded", "Version 1.6 notes.", `value="upload-now"`} {
		if !strings.Contains(p, want) {
			t.Errorf("page after the upload lacks %q", want)
		}
	}
	if u.reboots.Load() != 0 {
		t.Fatal("the upload alone installed the update")
	}
	w.post(base+"admin/updates/action", map[string][]string{"action": {"upload-tonight"}})
	// The agent takes the request within a few ticks.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if w.do("GET", base+"admin", nil); strings.Contains(w.last, "Update 1.6 (build 6) is ready") {
			break
		}
	}
	if !strings.Contains(w.last, "Update 1.6 (build 6) is ready") {
		t.Errorf("the dashboard does not tell of the planned update")
	}
	page()
	w.post(base+"admin/updates/action", map[string][]string{"action": {"upload-now"}})
	for end := time.Now().Add(20 * time.Second); u.reboots.Load() == 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if u.reboots.Load() != 1 {
		t.Fatal("the agent did not install the uploaded update")
	}
	if b, _ := os.ReadFile(u.dev.Parts[3]); !bytes.HasPrefix(b, bytes.Repeat([]byte("1.6"), 1000)) {
		t.Error("slot b does not hold the uploaded root image")
	}
	out := facteur(t, "", "update", "status", "-perm", u.dev.Perm)
	for _, want := range []string{"pending: 1.6 (build 6) in slot b", "now: rebooting", "written"} {
		if !strings.Contains(out, want) {
			t.Errorf("facteur update status lacks %q:\n%s", want, out)
		}
	}
	p = page()
	for _, want := range []string{"Restarting into the new version", "1.6 (build 6) was installed and is being tested", "written"} {
		if !strings.Contains(p, want) {
			t.Errorf("page after the install lacks %q:\n%s", want, p)
		}
	}
}
