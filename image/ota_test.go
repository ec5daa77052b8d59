package image

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"facteur/appliance/update"
	"facteur/hardware"
)

// feedServer serves the update feed and bundles to the guest (which reaches
// the host's loopback as 10.0.2.2 under QEMU user networking).
type feedServer struct {
	dir  string
	port int

	// mu protects feed.
	mu   sync.Mutex
	feed update.Feed
}

func newFeedServer(t *testing.T, dir string) *feedServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &feedServer{dir: dir, port: l.Addr().(*net.TCPAddr).Port}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed.json", func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		json.NewEncoder(w).Encode(fs.feed)
	})
	mux.Handle("GET /bundles/", http.StripPrefix("/bundles/", http.FileServer(http.Dir(dir))))
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return fs
}

func (fs *feedServer) publish(e update.FeedEntry) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.feed.Bundles = append(fs.feed.Bundles, e)
}

// TestQEMUOTA: v1 boots; a bundle v2 from the feed is verified, written,
// test-booted and committed, and a cold boot runs v2; a v3 whose facteur
// serve cannot start fails its health check and the box returns to v2. The
// core's store on /perm (its TLS certificate) is the same throughout. Then
// QEMU is killed while v4 is being verified and written: v2 still boots,
// and v4 is installed on the next try.
// It takes several minutes under TCG: run it with make qemu-test.
func TestQEMUOTA(t *testing.T) {
	if os.Getenv("FACTEUR_QEMU_OTA") == "" {
		t.Skip("set FACTEUR_QEMU_OTA=1 (make qemu-test) to run the OTA test")
	}
	b, _ := hardware.Lookup("qemu-amd64")
	needQEMU(t, b)
	dir := t.TempDir()
	priv, pub, err := update.NewKey(update.KindDev)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	if err := WriteKey(keys, priv, pub); err != nil {
		t.Fatal(err)
	}
	bundles := filepath.Join(dir, "bundles")
	os.MkdirAll(bundles, 0o755)
	feed := newFeedServer(t, bundles)
	base := Options{Board: b, Seed: "ota", PermMiB: 256, Keys: keys, FeedInterval: "5s", HealthTimeout: "60s", AutoInstall: "now",
		Feed: fmt.Sprintf("http://10.0.2.2:%d/feed.json", feed.port)}

	v1 := base
	v1.Version, v1.Build, v1.Out = "v1", 1, filepath.Join(dir, "v1")
	r1 := buildImage(t, v1)
	mkBundle := func(version string, build uint64, serveArgs ...string) update.FeedEntry {
		o := base
		o.Version, o.Build, o.Out, o.ServeArgs = version, build, filepath.Join(dir, version), serveArgs
		r := buildImage(t, o)
		out := filepath.Join(bundles, version+".bundle")
		m, err := MakeBundle(BundleOptions{Manifest: update.Manifest{Board: b.Name, Version: version, Build: build, Channel: "stable"},
			Root: r.Root, Kernel: r.Kernel, Key: priv, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(out)
		return update.FeedEntry{Board: m.Board, Channel: m.Channel, Version: version, Build: build, Size: st.Size(), URL: "bundles/" + version + ".bundle"}
	}
	e2 := mkBundle("v2", 2)
	// v3's core is told to listen on an address the box does not have, so
	// it exits at once, every time gokrazy restarts it.
	e3 := mkBundle("v3", 3, "-bind", "192.0.2.1")
	e4 := mkBundle("v4", 4)
	mkBundle("v5", 5) // uploaded through the web UI, not in the feed
	e6 := mkBundle("v6", 6)

	vars := copyVars(t, b, dir)
	v := boot(t, b, r1.Image, vars)
	v.waitConsole(`running slot a, firmware v1 build 1`, 0, 4*time.Minute)
	v.greeting(25, 4*time.Minute)
	v.completeWizard()
	v.deliver("stored on v1")
	v.hasMail("stored on v1", "v1")
	fp := v.certFingerprint()
	t.Logf("v1 up at %v, certificate %s", time.Since(v.start).Round(time.Second), fp)

	feed.publish(e2)
	at := v.waitConsole(`v2 \(build 2\) written to slot b`, 0, 5*time.Minute)
	at = v.waitConsole(`running slot b, firmware v2 build 2`, at, 5*time.Minute)
	v.waitConsole(`update: committed v2 \(build 2\) on slot b`, at, 3*time.Minute)
	if got := v.certFingerprint(); got != fp {
		t.Errorf("v2 shows certificate %s, want %s", got, fp)
	}
	v.hasMail("stored on v1", "after the update to v2")
	v.kill()

	v = boot(t, b, r1.Image, vars) // cold boot: the disk now defaults to slot b
	v.waitConsole(`running slot b, firmware v2 build 2`, 0, 4*time.Minute)
	v.greeting(25, 4*time.Minute)
	t.Logf("v2 committed and cold-booted")

	feed.publish(e3)
	at = v.waitConsole(`v3 \(build 3\) written to slot a`, 0, 5*time.Minute)
	at = v.waitConsole(`running slot a, firmware v3 build 3`, at, 5*time.Minute)
	at = v.waitConsole(`health check of v3 failed`, at, 3*time.Minute)
	at = v.waitConsole(`running slot b, firmware v2 build 2`, at, 5*time.Minute)
	v.waitConsole(`build 3 was rolled back`, at, time.Minute)
	v.greeting(25, 4*time.Minute)
	if got := v.certFingerprint(); got != fp {
		t.Errorf("after the rollback the certificate is %s, want %s", got, fp)
	}
	v.hasMail("stored on v1", "after the rollback from v3")

	// Power is cut while v4 is being verified and written to slot a: the
	// box still boots v2; then the agent downloads v4 again and installs it.
	feed.publish(e4)
	v.waitConsole(`verifying download.bundle and writing slot a`, at, 5*time.Minute)
	v.kill()
	v = boot(t, b, r1.Image, vars)
	at = v.waitConsole(`running slot b, firmware v2 build 2`, 0, 4*time.Minute)
	t.Logf("power cut during the write of v4: v2 still boots")
	at = v.waitConsole(`running slot a, firmware v4 build 4`, at, 8*time.Minute)
	v.waitConsole(`update: committed v4 \(build 4\) on slot a`, at, 3*time.Minute)
	if got := v.certFingerprint(); got != fp {
		t.Errorf("v4 shows certificate %s, want %s", got, fp)
	}
	v.hasMail("stored on v1", "on v4")

	// A site without internet: the admin uploads v5 on the web UI's update
	// page and installs it now. A damaged file is refused there first.
	a := v.loginAdmin()
	a.get("/admin/updates")
	a.mustShow("update page on v4", "Facteur <b>v4</b> (build 4", "committed")
	damaged := filepath.Join(dir, "damaged.bundle")
	b5, _ := os.ReadFile(filepath.Join(bundles, "v5.bundle"))
	b5[len(b5)/2] ^= 0xff
	os.WriteFile(damaged, b5, 0o644)
	a.uploadBundle(damaged)
	a.mustShow("damaged bundle", "Not accepted", "does not match the signed manifest")
	a.uploadBundle(filepath.Join(bundles, "v5.bundle"))
	a.mustShow("v5 uploaded", "Update v5 (build 5) uploaded", `value="upload-now"`)
	a.post("/admin/updates/action", url.Values{"action": {"upload-now"}})
	at = v.waitConsole(`running slot b, firmware v5 build 5`, at, 8*time.Minute)
	v.waitConsole(`update: committed v5 \(build 5\) on slot b`, at, 3*time.Minute)
	v.hasMail("stored on v1", "on v5")
	a = v.loginAdmin()
	a.get("/admin/updates")
	a.mustShow("update page on v5", "Facteur <b>v5</b> (build 5", "committed")
	t.Logf("v5 uploaded through the web UI, installed and committed")

	// The box dies during the test boot of v6 (a crash, or a hang that the
	// watchdog resets): the one-shot entry is spent, so v5 comes back and
	// v6 is recorded as rolled back.
	feed.publish(e6)
	at = v.waitConsole(`v6 \(build 6\) written to slot a`, at, 5*time.Minute)
	v.waitConsole(`running slot a, firmware v6 build 6`, at, 5*time.Minute)
	v.kill()
	v = boot(t, b, r1.Image, vars)
	at = v.waitConsole(`running slot b, firmware v5 build 5`, 0, 4*time.Minute)
	v.waitConsole(`build 6 was rolled back`, at, time.Minute)
	v.hasMail("stored on v1", "after the reset during the test boot of v6")
	t.Logf("reset during the test boot of v6: v5 is back")
}
