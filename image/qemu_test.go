package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"facteur/hardware"
)

// vm is one QEMU run of an image, with the guest's mail and web ports
// forwarded to free loopback ports.
type vm struct {
	t     *testing.T
	cmd   *exec.Cmd
	start time.Time
	ports map[int]int // guest port → host port

	// mu protects console.
	mu      sync.Mutex
	console bytes.Buffer
}

func needQEMU(t *testing.T, b hardware.Board) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM: skipped with -short")
	}
	if _, err := exec.LookPath(b.QEMU.Binary); err != nil {
		t.Skipf("%s not installed (make deps)", b.QEMU.Binary)
	}
	for _, f := range b.QEMU.Pflash {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("firmware %s not installed (make deps)", f)
		}
	}
	for _, tool := range []string{"mksquashfs", "mformat", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps)", tool)
		}
	}
	if _, err := os.Stat(systemdBoot); err != nil && b.GOARCH == "amd64" {
		t.Skip("systemd-boot not installed (make deps)")
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// boot starts QEMU on img with the UEFI variable store vars (kept across
// boots, as NVRAM is).
func boot(t *testing.T, b hardware.Board, img, vars string, extra ...string) *vm {
	v := &vm{t: t, ports: map[int]int{}}
	fwd := "user,id=net0"
	for _, p := range []int{25, 53, 143, 80, 443, 587} {
		v.ports[p] = freePort(t)
		fwd += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", v.ports[p], p)
	}
	args := append([]string{}, b.QEMU.Args...)
	args = append(args, "-display", "none", "-serial", "stdio")
	if vars != "" {
		args = append(args, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+b.QEMU.Pflash[0],
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	args = append(args, extra...)
	args = append(args, "-drive", "file="+img+",format=raw,if="+b.QEMU.Disk,
		"-netdev", fwd, "-device", b.QEMU.NetDev+",netdev=net0")
	v.cmd = exec.Command(b.QEMU.Binary, args...)
	v.cmd.Stdout = v
	v.cmd.Stderr = v
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.kill)
	t.Cleanup(func() { v.saveConsole() })
	return v
}

var boots atomic.Int32

// saveConsole keeps the whole console of a failed test in a file (the
// failure message shows only its tail).
func (v *vm) saveConsole() {
	if !v.t.Failed() {
		return
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(v.t.Name())
	path := filepath.Join(os.TempDir(), fmt.Sprintf("facteur-console-%s-%d.log", name, boots.Add(1)))
	v.mu.Lock()
	err := os.WriteFile(path, v.console.Bytes(), 0o644)
	v.mu.Unlock()
	if err == nil {
		v.t.Logf("console of this boot saved in %s", path)
	}
}

func (v *vm) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.console.Write(p)
}

func (v *vm) kill() {
	if v.cmd.Process != nil && v.cmd.ProcessState == nil {
		v.cmd.Process.Kill()
		v.cmd.Wait()
	}
}

// waitConsole waits for a console line matching re, reading from offset
// from; it returns the offset after the match.
func (v *vm) waitConsole(re string, from int, timeout time.Duration) int {
	v.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		b := v.console.Bytes()
		var loc []int
		if from <= len(b) {
			loc = rx.FindIndex(b[from:])
		}
		v.mu.Unlock()
		if loc != nil {
			return from + loc[1]
		}
		time.Sleep(500 * time.Millisecond)
	}
	v.t.Fatalf("console never showed %q within %v; console tail:\n%s", re, timeout, v.tail())
	return 0
}

func (v *vm) offset() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.console.Len()
}

func (v *vm) tail() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.console.String()
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// greeting waits for the first line the guest's port answers with.
func (v *vm) greeting(port int, timeout time.Duration) string {
	v.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", v.ports[port])
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 512)
			n, err := c.Read(buf)
			c.Close()
			if n > 0 {
				return string(buf[:n])
			}
			last = err
		} else {
			last = err
		}
		time.Sleep(time.Second)
	}
	v.t.Fatalf("guest port %d: no greeting within %v (%v); console tail:\n%s", port, timeout, last, v.tail())
	return ""
}

// certFingerprint is the sha256 of the certificate the guest's SMTP
// server shows after STARTTLS. The core makes it on its first start and
// keeps it in its store on /perm, so the same fingerprint across boots and
// versions shows that /perm and the store carried over.
func (v *vm) certFingerprint() string {
	v.t.Helper()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", v.ports[25]))
	if err != nil {
		v.t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		v.t.Fatalf("STARTTLS: %v", err)
	}
	st, _ := c.TLSConnectionState()
	h := sha256.Sum256(st.PeerCertificates[0].Raw)
	return hex.EncodeToString(h[:8])
}

// web fetches / from the guest's port 80.
func (v *vm) web(timeout time.Duration) (int, string) {
	v.t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/", v.ports[80]))
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, b.String()
		}
		time.Sleep(time.Second)
	}
	v.t.Fatalf("no HTTP answer on guest port 80 within %v", timeout)
	return 0, ""
}

// setupWizard reads the setup link the box shows on its console and opens
// the wizard with its token through the forwarded HTTP port.
func (v *vm) setupWizard() {
	v.t.Helper()
	_, path := v.openWizard()
	v.t.Logf("setup wizard reached at %s through the forwarded port", path)
}

// openWizard follows the console's setup link and returns the client
// holding the wizard's session.
func (v *vm) openWizard() (*http.Client, string) {
	v.t.Helper()
	end := v.waitConsole(`open the setup wizard at http://\S+/setup\?token=[0-9a-f]+`, 0, 2*time.Minute)
	v.mu.Lock()
	line := v.console.String()[:end]
	v.mu.Unlock()
	token := line[strings.LastIndex(line, "token=")+len("token="):]
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/setup?token=%s", v.ports[80], token))
	if err != nil {
		v.t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/setup/admin" || !strings.Contains(b.String(), "<form") {
		v.t.Fatalf("setup link: HTTP %d at %s, want the wizard's first step (a form at /setup/admin)", resp.StatusCode, resp.Request.URL.Path)
	}
	return cl, resp.Request.URL.Path
}

func buildImage(t *testing.T, o Options) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func copyVars(t *testing.T, b hardware.Board, dir string) string {
	vars := filepath.Join(dir, "vars.fd")
	if err := copyFile(b.QEMU.Pflash[1], vars); err != nil {
		t.Fatal(err)
	}
	return vars
}

// TestQEMUBoot builds a qemu-amd64 image, boots it through OVMF and
// systemd-boot, and waits for the SMTP banner, the IMAP greeting and the
// web UI through forwarded ports; a cold second boot keeps the core's
// store (its TLS certificate) on /perm.
func TestQEMUBoot(t *testing.T) {
	b, _ := hardware.Lookup("qemu-amd64")
	needQEMU(t, b)
	dir := t.TempDir()
	r := buildImage(t, Options{Board: b, Version: "boot-test", Build: 1, Seed: "qemu-boot", PermMiB: 256, Out: dir})
	vars := copyVars(t, b, dir)

	v := boot(t, b, r.Image, vars)
	v.waitConsole(`facteur: running slot a, firmware boot-test build 1`, 0, 4*time.Minute)
	banner := v.greeting(25, 4*time.Minute)
	t.Logf("boot to SMTP banner: %v (%q)", time.Since(v.start).Round(100*time.Millisecond), strings.TrimSpace(banner))
	if !strings.HasPrefix(banner, "220 ") {
		t.Fatalf("SMTP banner %q", banner)
	}
	if g := v.greeting(143, time.Minute); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("IMAP greeting %q", g)
	}
	code, body := v.web(time.Minute)
	t.Logf("web UI: HTTP %d, %d bytes", code, len(body))
	if code >= 500 {
		t.Fatalf("web UI answered %d", code)
	}
	v.setupWizard()
	if !strings.Contains(v.tail(), "mounted filesystem") {
		// ext4 prints this when /perm is mounted read-write.
		t.Errorf("console does not show /perm mounted")
	}
	fp := v.certFingerprint()
	v.kill()

	v = boot(t, b, r.Image, vars)
	v.greeting(25, 4*time.Minute)
	if got := v.certFingerprint(); got != fp {
		t.Errorf("after a cold reboot the core's certificate is %s, want %s: /perm was not kept", got, fp)
	}
}

// TestQEMUArm64Boot builds a qemu-arm64 image and boots its kernel and
// root under qemu-system-aarch64 (the kernel is given to QEMU directly:
// there is no arm64 systemd-boot in Debian's amd64 archive), then waits
// for the SMTP banner and the IMAP greeting.
func TestQEMUArm64Boot(t *testing.T) {
	b, _ := hardware.Lookup("qemu-arm64")
	needQEMU(t, b)
	dir := t.TempDir()
	r := buildImage(t, Options{Board: b, Version: "arm", Build: 1, Seed: "arm", PermMiB: 256, Out: dir})
	v := boot(t, b, r.Image, "", "-kernel", r.Kernel, "-append", kernelCmdline(b, r.BootGUID))
	v.waitConsole(`facteur: running slot a, firmware arm build 1`, 0, 5*time.Minute)
	banner := v.greeting(25, 5*time.Minute)
	t.Logf("arm64 boot to SMTP banner: %v (%q)", time.Since(v.start).Round(100*time.Millisecond), strings.TrimSpace(banner))
	if !strings.HasPrefix(banner, "220 ") {
		t.Fatalf("SMTP banner %q", banner)
	}
	if g := v.greeting(143, time.Minute); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("IMAP greeting %q", g)
	}
}
