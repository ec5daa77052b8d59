package webui

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the rate limiter and sessions.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a web UI over a fake backend, served over TLS (as after setup),
// with its log captured.
type env struct {
	t     *testing.T
	be    *fakeBackend
	ui    *Server
	srv   *httptest.Server
	clock *fakeClock
	logs  *bytes.Buffer
}

func newEnv(t *testing.T, setUp bool) *env {
	be := newFake()
	if setUp {
		be.setUp()
	}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	ui := New(be, Options{Logger: slog.New(slog.NewTextHandler(w, nil)), HTTPSPort: 8443, Now: clock.now})
	srv := httptest.NewTLSServer(ui)
	t.Cleanup(srv.Close)
	return &env{t: t, be: be, ui: ui, srv: srv, clock: clock, logs: logs}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// browser is one cookie jar that does not follow redirects.
type browser struct {
	e    *env
	c    *http.Client
	last string // the last page's body
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client() // a copy: each browser has its own jar
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: &c}
}

func (b *browser) do(req *http.Request) *http.Response {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.last = string(body)
	return resp
}

func (b *browser) get(path string) *http.Response {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form; with csrf it adds the token of the last page.
func (b *browser) post(path string, v url.Values, csrf bool) *http.Response {
	b.e.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	if csrf {
		v.Set("csrf", b.csrf())
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf() string {
	m := csrfRE.FindStringSubmatch(b.last)
	if m == nil {
		b.e.t.Fatalf("no CSRF token in the last page:\n%s", b.last)
	}
	return m[1]
}

func (b *browser) login(user, pw string) *http.Response {
	b.e.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"user": {user}, "password": {pw}}, true)
}

func wantStatus(t *testing.T, what string, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Errorf("%s: status %d, want %d", what, resp.StatusCode, want)
	}
}

func TestWizardRefusedWithoutToken(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	for _, path := range []string{"/setup", "/setup?token=wrong", "/setup/admin", "/setup/review", "/", "/admin", "/login", "/me"} {
		resp := b.get(path)
		wantStatus(t, "GET "+path, resp, http.StatusForbidden)
		if !strings.Contains(b.last, "not set up yet") {
			t.Errorf("GET %s: page does not say the box is not set up", path)
		}
	}
	resp := b.post("/setup/review", url.Values{"csrf": {"x"}}, false)
	wantStatus(t, "POST /setup/review without the token", resp, http.StatusForbidden)
	if len(e.be.setups) != 0 {
		t.Fatal("setup ran without the token")
	}
	if got := e.be.failures; len(got) != 2 || got[0] != "setup" {
		t.Errorf("failures reported = %q, want two setup failures (empty and wrong token)", got)
	}
}

func TestWizardWithToken(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	resp := b.get("/setup?token=secret-token")
	wantStatus(t, "token", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/setup/admin" {
		t.Errorf("token redirects to %q, want /setup/admin (no token in the address bar)", loc)
	}
	steps := []struct {
		step string
		form url.Values
	}{
		{"admin", url.Values{"admin": {"Boss@Example.test"}, "password": {"boss-password-1"}, "password2": {"boss-password-1"}}},
		{"domain", url.Values{"domain": {"example.test"}, "hostname": {""}}},
		{"network", url.Values{"mode": {"static"}, "ipv4": {"192.168.1.10/24"}, "gateway4": {"192.168.1.1"}, "dns": {"192.168.1.1, 9.9.9.9"}, "public": {"203.0.113.5"}}},
		{"timezone", url.Values{"timezone": {"Europe/Paris"}}},
		{"tls", url.Values{"tls": {"self"}}},
		{"dnsmode", url.Values{"dnsmode": {"external"}}},
	}
	for i, st := range steps {
		b.get("/setup/" + st.step)
		resp := b.post("/setup/"+st.step, st.form, true)
		next := "/setup/" + wizardSteps[i+1].ID
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != next {
			t.Fatalf("step %s: %d to %q, want 303 to %s; page:\n%s", st.step, resp.StatusCode, loc, next, b.last)
		}
	}
	b.get("/setup/review")
	for _, want := range []string{"boss@example.test", "mail.example.test", "192.168.1.10/24", "Europe/Paris", "at my DNS provider"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("review page lacks %q", want)
		}
	}
	resp = b.post("/setup/review", nil, true)
	wantStatus(t, "apply", resp, http.StatusSeeOther) // over HTTPS: straight on
	if len(e.be.setups) != 1 {
		t.Fatalf("Setup called %d times", len(e.be.setups))
	}
	got := e.be.setups[0]
	if got.Admin != "boss@example.test" || got.Domain != "example.test" || got.Hostname != "mail.example.test" ||
		got.Network.Mode != "static" || got.Network.IPv4 != "192.168.1.10/24" || len(got.Network.DNSServers) != 2 ||
		got.TimeZone != "Europe/Paris" || got.DNSMode != "external" || len(got.PublicIPs) != 1 {
		t.Errorf("Setup got %+v", got)
	}
	// The session is now the admin's; the token is dead.
	wantStatus(t, "records as the new admin", b.get("/setup/records"), http.StatusOK)
	wantStatus(t, "users as the new admin", b.get("/setup/users"), http.StatusOK)
	resp = b.post("/setup/users", url.Values{"address": {"carol@example.test"}, "password": {"carol-password"}, "password2": {"carol-password"}}, true)
	wantStatus(t, "add a user", resp, http.StatusSeeOther)
	if _, err := e.be.Account(nil, "carol@example.test"); err != nil {
		t.Error("the wizard's user step did not create the account")
	}
	wantStatus(t, "summary", b.get("/setup/summary"), http.StatusOK)
	if !strings.Contains(b.last, "How to fix: wait") {
		t.Error("summary does not show the checks' fixes")
	}
	if strings.Contains(b.last, `href="/admin/accounts"`) {
		t.Error("the wizard shows the console's menu")
	}
	wantStatus(t, "dashboard", b.get("/admin"), http.StatusOK)
	if !strings.Contains(b.last, `href="/admin/accounts"`) {
		t.Error("the dashboard after the wizard has no menu")
	}
	wantStatus(t, "token after setup", e.browser().get("/setup?token=secret-token"), http.StatusGone)
	wantStatus(t, "a pre-setup step after setup", b.get("/setup/admin"), http.StatusForbidden)
}

func TestWizardOverHTTPEndsWithALinkToHTTPS(t *testing.T) {
	be := newFake()
	ui := New(be, Options{HTTPSPort: 8443})
	srv := httptest.NewServer(ui)
	defer srv.Close()
	e := &env{t: t, be: be, ui: ui, srv: srv}
	b := e.browser()
	b.get("/setup?token=secret-token")
	b.get("/setup/admin")
	b.post("/setup/admin", url.Values{"admin": {"boss@example.test"}, "password": {"boss-password-1"}, "password2": {"boss-password-1"}}, true)
	b.get("/setup/review")
	resp := b.post("/setup/review", nil, true)
	wantStatus(t, "apply over HTTP", resp, http.StatusOK)
	host := strings.TrimPrefix(srv.URL, "http://")
	host = host[:strings.LastIndex(host, ":")]
	if want := `href="https://` + host + `:8443/setup/records"`; !strings.Contains(b.last, want) {
		t.Errorf("page after setup lacks %s:\n%s", want, b.last)
	}
	// Mail client discovery stays on HTTP.
	if resp := b.get("/mail/config-v1.1.xml"); resp.StatusCode != http.StatusOK || !strings.Contains(b.last, "<clientConfig") {
		t.Errorf("autoconfig over HTTP after setup: %d", resp.StatusCode)
	}
	// Everything else only redirects.
	resp = b.get("/login?x=1")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://"+host+":8443/login?x=1" {
		t.Errorf("HTTP after setup: %d %q, want 301 to HTTPS", resp.StatusCode, loc)
	}
}

func TestWizardValidation(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	b.get("/setup?token=secret-token")
	for _, tc := range []struct {
		step string
		form url.Values
		want string
	}{
		{"admin", url.Values{"admin": {"boss@example.test"}, "password": {"short"}, "password2": {"short"}}, "at least 10"},
		{"admin", url.Values{"admin": {"boss@example.test"}, "password": {"boss-password-1"}, "password2": {"boss-password-2"}}, "differ"},
		{"admin", url.Values{"admin": {"not-an-address"}, "password": {"boss-password-1"}, "password2": {"boss-password-1"}}, "not an email address"},
		{"network", url.Values{"mode": {"static"}, "ipv4": {"192.168.1.10"}}, "prefix length"},
		{"timezone", url.Values{"timezone": {"Mars/Olympus"}}, "unknown time zone"},
	} {
		b.get("/setup/" + tc.step)
		resp := b.post("/setup/"+tc.step, tc.form, true)
		if loc := resp.Header.Get("Location"); loc != "/setup/"+tc.step {
			t.Errorf("%s %v: went to %q, want to stay", tc.step, tc.form, loc)
		}
		b.get("/setup/" + tc.step)
		if !strings.Contains(b.last, tc.want) {
			t.Errorf("%s %v: page lacks %q", tc.step, tc.form, tc.want)
		}
	}
	b.get("/setup/review")
	b.post("/setup/review", nil, true)
	if len(e.be.setups) != 0 {
		t.Error("setup applied with missing steps")
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	// The login form itself needs the token.
	resp := b.post("/login", url.Values{"user": {"admin@example.test"}, "password": {"admin-password"}}, false)
	wantStatus(t, "login without CSRF", resp, http.StatusForbidden)
	wantStatus(t, "login", b.login("admin@example.test", "admin-password"), http.StatusSeeOther)
	add := url.Values{"address": {"eve@example.test"}, "password": {"eve-password-1"}, "password2": {"eve-password-1"}}
	b.get("/admin/accounts")
	wantStatus(t, "no token", b.post("/admin/accounts/add", add, false), http.StatusForbidden)
	add.Set("csrf", "forged")
	wantStatus(t, "forged token", b.post("/admin/accounts/add", add, false), http.StatusForbidden)
	// Another session's token is not this one's.
	other := e.browser()
	other.login("alice@example.test", "alice-password")
	other.get("/me")
	add.Set("csrf", other.csrf())
	wantStatus(t, "another session's token", b.post("/admin/accounts/add", add, false), http.StatusForbidden)
	if _, err := e.be.Account(nil, "eve@example.test"); err == nil {
		t.Fatal("an account was created without a valid CSRF token")
	}
	b.get("/admin/accounts")
	add.Del("csrf")
	wantStatus(t, "valid token", b.post("/admin/accounts/add", add, true), http.StatusSeeOther)
	if _, err := e.be.Account(nil, "eve@example.test"); err != nil {
		t.Fatal("the account was not created with a valid token")
	}
	b.get("/me")
	wantStatus(t, "logout without CSRF", b.post("/logout", nil, false), http.StatusForbidden)
}

var adminPages = []string{"/admin", "/admin/domains", "/admin/accounts", "/admin/aliases", "/admin/dns",
	"/admin/firewall", "/admin/queue", "/admin/updates", "/admin/logs", "/setup/records", "/setup/users", "/setup/summary"}

func TestUserCannotReachAdminPages(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	b.login("alice@example.test", "alice-password")
	for _, p := range adminPages {
		wantStatus(t, "alice GET "+p, b.get(p), http.StatusForbidden)
	}
	b.get("/me")
	for _, action := range []string{"accounts/delete", "accounts/password", "accounts/disable", "aliases/add", "domains/add", "queue/drop", "firewall/unban"} {
		v := url.Values{"address": {"bob@example.test"}, "confirm": {"bob@example.test"}, "password": {"stolen-password"},
			"password2": {"stolen-password"}, "disabled": {"1"}, "targets": {"alice@example.test"}, "domain": {"evil.test"}}
		resp := b.post("/admin/"+action, v, true)
		wantStatus(t, "alice POST "+action, resp, http.StatusForbidden)
	}
	bob, _ := e.be.Account(nil, "bob@example.test")
	if bob.Disabled || e.be.passwords["bob@example.test"] != "bob-password-1" || len(e.be.aliases) != 0 || len(e.be.domains) != 1 {
		t.Errorf("a user changed admin data: bob %+v, aliases %v, domains %v", bob, e.be.aliases, e.be.domains)
	}
	// Anonymous visitors go to the login page.
	anon := e.browser()
	for _, p := range append(adminPages[:9], "/me", "/me/client", "/me/facteur.mobileconfig") {
		resp := anon.get(p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("anonymous GET %s: %d %q, want 303 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestUserSeesOnlyOwnData(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	b.login("alice@example.test", "alice-password")
	b.get("/me?address=bob@example.test&user=bob@example.test")
	if !strings.Contains(b.last, "alice@example.test") || strings.Contains(b.last, "bob@example.test") {
		t.Error("/me shows another user's data")
	}
	resp := b.get("/me/facteur.mobileconfig?address=bob@example.test")
	wantStatus(t, "profile", resp, http.StatusOK)
	if !strings.Contains(b.last, "<string>alice@example.test</string>") || strings.Contains(b.last, "bob@") {
		t.Errorf("profile is not alice's own:\n%s", b.last)
	}
	// A password change only ever touches the session's own account.
	b.get("/me")
	b.post("/me/password", url.Values{"address": {"bob@example.test"}, "current": {"alice-password"}, "password": {"alice-password-2"}, "password2": {"alice-password-2"}}, true)
	if e.be.passwords["bob@example.test"] != "bob-password-1" || e.be.passwords["alice@example.test"] != "alice-password-2" {
		t.Errorf("passwords after alice's change: %v", e.be.passwords)
	}
}

func TestLoginRateLimitFeedsFailures(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	for i := range maxFailures {
		resp := b.login("admin@example.test", "wrong-password")
		wantStatus(t, "wrong password", resp, http.StatusUnauthorized)
		if got := len(e.be.failures); got != i+1 {
			t.Fatalf("after %d failures the backend heard of %d", i+1, got)
		}
	}
	resp := b.login("admin@example.test", "admin-password")
	wantStatus(t, "right password while limited", resp, http.StatusTooManyRequests)
	if !strings.Contains(b.last, "Too many failed attempts") {
		t.Error("the page does not say why")
	}
	e.clock.add(failWindow + time.Second)
	wantStatus(t, "after the window", b.login("admin@example.test", "admin-password"), http.StatusSeeOther)
	if strings.Contains(e.logs.String(), "wrong-password") || strings.Contains(e.logs.String(), "admin-password") {
		t.Errorf("a password reached the log:\n%s", e.logs.String())
	}
}

func TestPasswordChange(t *testing.T) {
	e := newEnv(t, true)
	b, other := e.browser(), e.browser()
	b.login("bob@example.test", "bob-password-1")
	other.login("bob@example.test", "bob-password-1")
	b.get("/me")
	b.post("/me/password", url.Values{"current": {"nope-nope-nope"}, "password": {"bob-password-2"}, "password2": {"bob-password-2"}}, true)
	if e.be.passwords["bob@example.test"] != "bob-password-1" || len(e.be.failures) != 1 {
		t.Fatalf("a wrong current password: password %q, failures %v", e.be.passwords["bob@example.test"], e.be.failures)
	}
	b.get("/me")
	if !strings.Contains(b.last, "current password is not right") {
		t.Error("no message for a wrong current password")
	}
	b.post("/me/password", url.Values{"current": {"bob-password-1"}, "password": {"bob-password-2"}, "password2": {"bob-password-2"}}, true)
	if e.be.passwords["bob@example.test"] != "bob-password-2" {
		t.Fatal("password not changed")
	}
	wantStatus(t, "this session after the change", b.get("/me"), http.StatusOK)
	resp := other.get("/me")
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("bob's other session after a password change: %d, want logged out", resp.StatusCode)
	}
	if strings.Contains(e.logs.String(), "bob-password") {
		t.Errorf("a password reached the log:\n%s", e.logs.String())
	}
}

func TestAdminPages(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	b.login("admin@example.test", "admin-password")
	for _, tc := range []struct{ path, want string }{
		{"/admin", `<rect class="in"`},
		{"/admin/accounts", "alice@example.test"},
		{"/admin/dns?domain=example.test", "10 other.example."},
		{"/admin/firewall", "203.0.113.9"},
		{"/admin/queue", "connection refused"},
		{"/admin/updates", "Facteur <b>1.5</b> (build 5"},
		{"/admin/logs?service=smtp&q=needle", "hello needle"},
		{"/me/client", "mail.example.test"},
	} {
		wantStatus(t, tc.path, b.get(tc.path), http.StatusOK)
		if !strings.Contains(b.last, tc.want) {
			t.Errorf("%s lacks %q", tc.path, tc.want)
		}
	}
	b.get("/admin/aliases")
	resp := b.post("/admin/aliases/add", url.Values{"address": {"team@example.test"}, "targets": {"alice@example.test, bob@example.test;x@example.org"}}, true)
	wantStatus(t, "add alias", resp, http.StatusSeeOther)
	if got := e.be.aliases["team@example.test"]; len(got) != 3 {
		t.Errorf("alias targets = %q", got)
	}
	b.get("/admin/accounts")
	b.post("/admin/accounts/quota", url.Values{"address": {"alice@example.test"}, "quota_mb": {"250"}}, true)
	b.get("/admin/accounts")
	b.post("/admin/accounts/disable", url.Values{"address": {"alice@example.test"}, "disabled": {"1"}}, true)
	if a, _ := e.be.Account(nil, "alice@example.test"); a.Quota != 250<<20 || !a.Disabled {
		t.Errorf("alice after quota and disable: %+v", a)
	}
	b.get("/admin/accounts")
	b.post("/admin/accounts/delete", url.Values{"address": {"bob@example.test"}, "confirm": {"bob"}}, true)
	if _, err := e.be.Account(nil, "bob@example.test"); err != nil {
		t.Error("an account was deleted without the typed confirmation")
	}
	b.get("/admin/accounts")
	b.post("/admin/accounts/delete", url.Values{"address": {"admin@example.test"}, "confirm": {"admin@example.test"}}, true)
	if _, err := e.be.Account(nil, "admin@example.test"); err != nil {
		t.Error("the admin deleted their own account")
	}
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	resp := b.get("/login")
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", h)
	}
	resp = b.login("admin@example.test", "admin-password")
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("no session cookie")
	}
	for _, c := range cookies {
		if c.Value != "" && (!c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode) {
			t.Errorf("cookie %s: HttpOnly %v Secure %v SameSite %v", c.Name, c.HttpOnly, c.Secure, c.SameSite)
		}
	}
	// The session id changes at login (no fixation).
	b2 := e.browser()
	b2.get("/login")
	u, _ := url.Parse(e.srv.URL)
	before := b2.c.Jar.Cookies(u)[0].Value
	b2.post("/login", url.Values{"user": {"admin@example.test"}, "password": {"admin-password"}}, true)
	if after := b2.c.Jar.Cookies(u)[0].Value; after == before {
		t.Error("the session id did not change at login")
	}
	if css := b.get("/static/style.css"); css.StatusCode != http.StatusOK || !strings.Contains(b.last, "--ok") {
		t.Errorf("static CSS: %d", css.StatusCode)
	}
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	b.get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.test")
	for _, want := range []string{`<emailProvider id="example.test">`, "<hostname>mail.example.test</hostname>", "<port>993</port>", "<socketType>SSL</socketType>", "<port>465</port>", "%EMAILADDRESS%"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("autoconfig lacks %s:\n%s", want, b.last)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/autodiscover/autodiscover.xml", strings.NewReader(
		`<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`))
	resp := b.do(req)
	wantStatus(t, "autodiscover", resp, http.StatusOK)
	for _, want := range []string{"<Type>IMAP</Type>", "<Port>993</Port>", "<LoginName>alice@example.test</LoginName>", "<Type>SMTP</Type>", "<Port>465</Port>"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("autodiscover lacks %s:\n%s", want, b.last)
		}
	}
	req, _ = http.NewRequest("POST", e.srv.URL+"/autodiscover/autodiscover.xml", strings.NewReader(`<Autodiscover><Request><EMailAddress>a"b@x</EMailAddress></Request></Autodiscover>`))
	wantStatus(t, "autodiscover with a bad address", b.do(req), http.StatusBadRequest)
	// Not served before setup.
	e2 := newEnv(t, false)
	wantStatus(t, "autoconfig before setup", e2.browser().get("/mail/config-v1.1.xml"), http.StatusNotFound)
}

func FuzzParseAutodiscover(f *testing.F) {
	f.Add([]byte(`<Autodiscover><Request><EMailAddress>a@b.c</EMailAddress></Request></Autodiscover>`))
	f.Add([]byte(`<Autodiscover><Request><EMailAddress>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Autodiscover/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		addr, err := parseAutodiscover(bytes.NewReader(data))
		if err != nil {
			return
		}
		if strings.ContainsAny(addr, "<>&\"' \r\n") || strings.Count(addr, "@") != 1 {
			t.Fatalf("accepted %q", addr)
		}
		// What the response echoes must stay well-formed.
		if x := xmlText(addr); strings.ContainsAny(x, "<>") {
			t.Fatalf("escaped %q = %q", addr, x)
		}
	})
}
