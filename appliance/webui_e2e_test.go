package appliance_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2/imapclient"

	"facteur/appliance"
	"facteur/appliance/ctl"
	"facteur/resolver"
)

const webAddr = "127.0.0.61" // this test's loopback address

// TestWebUIInChromium is a new admin's first hour in a real browser: the
// setup link, every wizard step, the admin console, then a user who
// changes the password and downloads the Apple profile. IMAP then proves
// the new password works.
func TestWebUIInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium; make test installs it)")
	}
	shots := os.Getenv("FACTEUR_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "facteur-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	dir := t.TempDir()
	dnsAddr := startBoxDNS(t, webAddr, dir)
	core := startWebCore(t, webAddr, dir, dnsAddr)
	setupURL := core.SetupURL()
	if setupURL == "" {
		t.Fatal("a fresh core has no setup URL")
	}
	b := newBrowser(t, chromium, shots)

	b.open(setupURL)
	b.shot("01-admin")
	b.fill("#admin", "admin@example.test")
	b.fill("#password", "admin-password-1")
	b.fill("#password2", "admin-password-1")
	b.next("#next")
	if got := b.value("#hostname"); got != "mail.example.test" {
		t.Errorf("hostname proposed = %q, want mail.example.test", got)
	}
	b.shot("02-domain")
	b.next("#next")
	b.shot("03-network")
	b.fill("#public", "192.0.2.61")
	b.next("#next")
	b.fill("#timezone", "Europe/Paris")
	b.shot("04-timezone")
	b.next("#next")
	b.shot("05-certificate")
	b.next("#next")
	b.shot("06-dns-mode")
	b.next("#next")
	b.wantText("192.0.2.61", "Europe/Paris", "this box")
	b.shot("07-review")
	b.next("#apply")
	b.wantText("The box is set up", "secure connection")
	b.next("#continue")
	if !strings.HasPrefix(b.location(), "https://") {
		t.Errorf("after setup the wizard is at %s, want HTTPS", b.location())
	}
	b.wantText("mail.example.test", "192.0.2.61")
	b.shot("08-dns-records")
	b.next("#next")
	b.fill("#address", "carol@example.test")
	b.fill("#password", "carol-password-1")
	b.fill("#password2", "carol-password-1")
	b.next("#adduser")
	b.wantText("carol@example.test can now receive mail")
	b.shot("09-users")
	b.next("#next")
	// The box's DNS picks the new zones up within a poll interval: reload
	// until the check sees them (the page reloads, nothing is timed).
	for i := 0; !strings.Contains(b.text(), "Every record resolves"); i++ {
		if i == 20 {
			t.Fatalf("summary never saw the records resolve:\n%s", b.text())
		}
		b.open(b.location())
	}
	b.wantText("Every mail service and the web pages answer")
	b.shot("10-summary")
	b.next("#finish")

	// The token is dead, over HTTP (redirected to HTTPS) as well.
	b.open(setupURL)
	b.wantText("already set up")
	if core.SetupURL() != "" {
		t.Error("SetupURL after setup is not empty")
	}

	b.open(core.AdminURL())
	b.next("#logout")
	b.login("admin@example.test", "admin-password-1")
	b.wantText("Services", "Mail in the last 24 hours")
	if !strings.HasPrefix(b.location(), "https://") {
		t.Errorf("dashboard at %s, want HTTPS", b.location())
	}
	b.shot("11-dashboard")

	b.open(core.AdminURL() + "admin/accounts")
	b.fill("#address", "bob@example.test")
	b.fill("#password", "bob-password-1")
	b.fill("#password2", "bob-password-1")
	b.next("#create-account")
	b.wantText("Account bob@example.test created")
	b.shot("12-accounts")
	b.open(core.AdminURL() + "admin/aliases")
	b.fill("#address", "info@example.test")
	b.fill("#targets", "bob@example.test, carol@example.test")
	b.next("#create-alias")
	b.wantText("Alias info@example.test saved")
	b.shot("13-aliases")
	var aliases []struct {
		Address string
		Targets []string
	}
	if err := ctl.Call(appliance.CtlPath(dir), "alias.list", nil, &aliases); err != nil {
		t.Fatal(err)
	}
	if len(aliases) != 1 || aliases[0].Address != "info@example.test" || len(aliases[0].Targets) != 2 {
		t.Errorf("aliases after the form = %+v", aliases)
	}
	b.next("#logout")

	b.login("bob@example.test", "bob-password-1")
	b.wantText("You are logged in as bob@example.test")
	b.open(core.AdminURL() + "admin/accounts")
	b.wantText("This page is for administrators")
	b.open(core.AdminURL() + "me")
	b.fill("#current", "bob-password-1")
	b.fill("#password", "bob-password-2")
	b.fill("#password2", "bob-password-2")
	b.next("#change-password")
	b.wantText("Your password is changed")
	b.shot("14-user-password")
	b.open(core.AdminURL() + "me/client")
	b.shot("15-user-client")
	profile := b.download("#profile")
	checkProfile(t, profile, core)

	// The same page on a phone's screen: nothing wider than the screen.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.open(core.AdminURL() + "me")
	if wide, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth")); wide {
		t.Error("the account page scrolls sideways on a phone")
	}
	b.shot("16-phone-account")

	imapLogin(t, core, "bob@example.test", "bob-password-2", true)
	imapLogin(t, core, "bob@example.test", "bob-password-1", false)
	imapLogin(t, core, "carol@example.test", "carol-password-1", true)
}

func checkProfile(t *testing.T, profile []byte, core *appliance.Core) {
	t.Helper()
	_, imaps, _ := net.SplitHostPort(core.Addr("imaps"))
	for _, want := range []string{
		"<key>EmailAddress</key><string>bob@example.test</string>",
		"<key>EmailAccountType</key><string>EmailTypeIMAP</string>",
		"<key>IncomingMailServerHostName</key><string>mail.example.test</string>",
		"<key>IncomingMailServerPortNumber</key><integer>" + imaps + "</integer>",
		"<key>PayloadType</key><string>com.apple.mail.managed</string>",
		"<key>PayloadType</key><string>Configuration</string>",
	} {
		if !bytes.Contains(profile, []byte(want)) {
			t.Errorf("profile lacks %s:\n%s", want, profile)
		}
	}
	if bytes.Contains(profile, []byte("password-")) {
		t.Error("the profile contains a password")
	}
}

func imapLogin(t *testing.T, core *appliance.Core, user, pass string, want bool) {
	t.Helper()
	c, err := imapclient.DialTLS(core.Addr("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Login(user, pass).Wait()
	if got := err == nil; got != want {
		t.Errorf("IMAP login %s with %s: err %v, want success %v", user, pass, err, want)
	}
}

// startBoxDNS runs the box's DNS service on addr for the core's zones
// and returns its address.
func startBoxDNS(t *testing.T, addr, dir string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	tl, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- resolver.Run(ctx, resolver.Options{
			SnapshotPath: appliance.ZonesPath(dir), PacketConns: []net.PacketConn{pc}, Listeners: []net.Listener{tl},
			Logger: slog.New(slog.DiscardHandler),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns: %v", err)
		}
	})
	return pc.LocalAddr().String()
}

// startWebCore runs a fresh core on addr whose live DNS checks ask dns.
func startWebCore(t *testing.T, addr, dir, dns string) *appliance.Core {
	t.Helper()
	return runCore(t, appliance.Options{DataDir: dir, Bind: addr, Resolver: dns})
}

// tab is one headless Chromium tab driven with chromedp.
type tab struct {
	t     *testing.T
	ctx   context.Context
	shots string
	dl    string
}

func newBrowser(t *testing.T, path, shots string) *tab {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1100, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelT := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelT(); cancelA() })
	b := &tab{t: t, ctx: ctx, shots: shots, dl: t.TempDir()}
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		on := true
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.dl, EventsEnabled: &on,
		})
		return err
	}))
	return b
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *tab) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main")))
}

func (b *tab) fill(sel, v string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), v))
}

// next clicks sel and waits for the page it loads.
func (b *tab) next(sel string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
	if err == nil {
		err = chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS("main")))
	}
	if err != nil {
		b.t.Fatalf("click %s: %v (at %s)\n%s", sel, err, b.location(), b.text())
	}
}

func (b *tab) login(user, pass string) {
	b.t.Helper()
	b.fill("#user", user)
	b.fill("#password", pass)
	b.next("#login")
}

func (b *tab) text() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

func (b *tab) value(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *tab) location() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Location())
	return s
}

func (b *tab) wantText(want ...string) {
	b.t.Helper()
	got := b.text()
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Fatalf("page %s lacks %q:\n%s", b.location(), w, got)
		}
	}
}

func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// download clicks a download link and returns the file once complete.
func (b *tab) download(sel string) []byte {
	b.t.Helper()
	progress := chromedp.Events(b.ctx, browser.DownloadProgress)
	b.do(chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.t.Fatal("download canceled")
		}
	}
	files, _ := filepath.Glob(filepath.Join(b.dl, "*"))
	if len(files) != 1 {
		b.t.Fatalf("downloaded files: %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("downloaded %s (%d bytes)", filepath.Base(files[0]), len(data))
	return data
}
