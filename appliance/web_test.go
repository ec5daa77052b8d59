package appliance_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur/appliance"
	"facteur/appliance/ctl"
	"facteur/firewall"
)

// webClient is a browser without JavaScript: a cookie jar that accepts the
// box's self-signed certificate and does not follow redirects.
type webClient struct {
	t    *testing.T
	c    *http.Client
	last string
}

func newWebClient(t *testing.T) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, c: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

func (w *webClient) do(method, u string, form url.Values) *http.Response {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.c.Do(req)
	for i := 0; err != nil && form == nil && i < 20; i++ {
		// The services restart right after a setup from the CLI; a
		// connection made during the restart can be dropped.
		time.Sleep(50 * time.Millisecond)
		req, _ = http.NewRequest(method, u, nil)
		resp, err = w.c.Do(req)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	w.last = string(b)
	return resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post sends form with the CSRF token of the last page.
func (w *webClient) post(u string, form url.Values) *http.Response {
	w.t.Helper()
	m := csrfField.FindStringSubmatch(w.last)
	if m == nil {
		w.t.Fatalf("no CSRF token on the last page:\n%s", w.last)
	}
	form.Set("csrf", m[1])
	return w.do("POST", u, form)
}

func (w *webClient) login(base, user, pw string) *http.Response {
	w.t.Helper()
	w.do("GET", base+"login", nil)
	return w.post(base+"login", url.Values{"user": {user}, "password": {pw}})
}

// TestWebSetupToken: the wizard needs the token; `facteur setup` (the same
// code as the wizard's last step) kills it, and plain HTTP then redirects
// to HTTPS.
func TestWebSetupToken(t *testing.T) {
	dir := t.TempDir()
	core := startCore(t, dir)
	tokenURL := core.SetupURL()
	u, err := url.Parse(tokenURL)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("SetupURL = %q", tokenURL)
	}
	w := newWebClient(t)
	bad := *u
	bad.RawQuery = "token=" + strings.Repeat("0", len(u.Query().Get("token")))
	if resp := w.do("GET", bad.String(), nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", resp.StatusCode)
	}
	if resp := w.do("GET", "http://"+u.Host+"/setup/admin", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wizard step without the token: %d, want 403", resp.StatusCode)
	}
	if resp := w.do("GET", tokenURL, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("right token: %d, want 303 into the wizard", resp.StatusCode)
	}

	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	if core.SetupURL() != "" {
		t.Error("SetupURL is not empty after setup")
	}
	resp := w.do("GET", tokenURL, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://") {
		t.Fatalf("token over HTTP after setup: %d %q, want 301 to HTTPS", resp.StatusCode, loc)
	}
	if resp := w.do("GET", loc, nil); resp.StatusCode != http.StatusGone {
		t.Errorf("token over HTTPS after setup: %d, want 410", resp.StatusCode)
	}
	// The wizard's session from before setup is worth nothing now.
	if resp := w.do("GET", core.AdminURL()+"setup/admin", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wizard after setup: %d, want 403", resp.StatusCode)
	}
}

// fakeFirewall answers the firewall role's socket protocol and records
// events, as the real role (tested in firewall/ and firewall_e2e_test.go)
// would receive them.
type fakeFirewall struct {
	mu     sync.Mutex
	events []firewall.Request
}

func startFakeFirewall(t *testing.T, dir string) *fakeFirewall {
	l, err := net.Listen("unix", appliance.FirewallSocket(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f := &fakeFirewall{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeFirewall) serve(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return
	}
	var req firewall.Request
	json.Unmarshal(line, &req)
	f.mu.Lock()
	f.events = append(f.events, req)
	f.mu.Unlock()
	resp := firewall.Response{OK: true}
	if req.Type == "bans" {
		resp.Bans = []firewall.Ban{{IP: netip.MustParseAddr("203.0.113.77"), Remaining: firewall.Duration(time.Hour)}}
	}
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

func (f *fakeFirewall) seen(typ string) []firewall.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []firewall.Request
	for _, e := range f.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// TestWebLoginFailuresFeedFirewall: failed web logins are counted like
// IMAP's and reported to the firewall role, then rate limited; the
// firewall page lists the role's bans and unbans through it.
func TestWebLoginFailuresFeedFirewall(t *testing.T) {
	dir := t.TempDir()
	fw := startFakeFirewall(t, dir)
	core := startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	base := core.AdminURL()
	w := newWebClient(t)
	for range 5 {
		if resp := w.login(base, "admin@example.test", "guess-password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
		}
	}
	if resp := w.login(base, "admin@example.test", "admin-password-1"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password after 5 failures: %d, want 429", resp.StatusCode)
	}
	var st appliance.Status
	if err := ctl.Call(appliance.CtlPath(dir), "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.AuthFailed["http"] != 5 {
		t.Errorf("http failures counted = %d, want 5", st.AuthFailed["http"])
	}
	// Reports are sent without waiting; wait for the five.
	for i := 0; len(fw.seen(firewall.EventAuthFailure)) < 5; i++ {
		if i == 200 {
			t.Fatalf("firewall got %d auth-failure events, want 5", len(fw.seen(firewall.EventAuthFailure)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	ev := fw.seen(firewall.EventAuthFailure)[0]
	if ev.Proto != "http" || ev.User != "admin@example.test" || ev.IP.String() != "127.0.0.1" {
		t.Errorf("event = %+v", ev)
	}

	// Another address is not limited by the first one's failures.
	admin := newWebClient(t)
	if resp := loginFrom(t, admin, base, "127.0.0.2"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin login from another address: %d, want 303\n%s", resp.StatusCode, admin.last)
	}
	admin.do("GET", base+"admin/firewall", nil)
	if !strings.Contains(admin.last, "203.0.113.77") {
		t.Fatalf("firewall page lacks the role's ban:\n%s", admin.last)
	}
	admin.post(base+"admin/firewall/unban", url.Values{"ip": {"203.0.113.77"}})
	if got := fw.seen("unban"); len(got) != 1 || got[0].IP.String() != "203.0.113.77" {
		t.Errorf("unban requests = %+v", got)
	}
}

// loginFrom logs in as the admin from source address src.
func loginFrom(t *testing.T, w *webClient, base, src string) *http.Response {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	w.c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DialContext: d.DialContext}
	return w.login(base, "admin@example.test", "admin-password-1")
}

// TestWebConsoleOverCore drives the console's pages over a real core:
// accounts through the same control methods as the CLI, the dashboard's
// message counts, the logs page, the DNS check against the box's DNS.
func TestWebConsoleOverCore(t *testing.T) {
	const ip = "127.0.0.63"
	dir := t.TempDir()
	core := startWebCore(t, ip, dir, startBoxDNS(t, ip, dir))
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test", "-ip", "192.0.2.63")
	base := core.AdminURL()
	w := newWebClient(t)
	if resp := w.login(base, "admin@example.test", "admin-password-1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	w.do("GET", base+"admin/accounts", nil)
	w.post(base+"admin/accounts/add", url.Values{"address": {"dan@example.test"}, "password": {"dan-password-1"}, "password2": {"dan-password-1"}})
	w.do("GET", base+"admin/accounts", nil)
	w.post(base+"admin/accounts/quota", url.Values{"address": {"dan@example.test"}, "quota_mb": {"20"}})
	if out := facteur(t, "", "user", "list", "-data", dir); !strings.Contains(out, "dan@example.test") {
		t.Errorf("the CLI does not see the account made on the web:\n%s", out)
	}
	var users []appliance.UserInfo
	if err := ctl.Call(appliance.CtlPath(dir), "user.list", nil, &users); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Address == "dan@example.test" && u.Quota != 20<<20 {
			t.Errorf("dan's quota = %d, want 20 MiB", u.Quota)
		}
	}

	// One message in: the dashboard's chart counts it.
	c, err := smtp.DialTLS(core.Addr("submissions"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "dan@example.test", "dan-password-1")); err != nil {
		t.Fatal(err)
	}
	msg := "From: dan@example.test\r\nTo: admin@example.test\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := c.SendMail("dan@example.test", []string{"admin@example.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	w.do("GET", base+"admin", nil)
	if !strings.Contains(w.last, fmt.Sprintf(": %d in</title>", 1)) {
		t.Errorf("dashboard does not count the message:\n%s", w.last)
	}

	w.do("GET", base+"admin/logs?service=web&q=login", nil)
	if !strings.Contains(w.last, "web login") || strings.Contains(w.last, "admin-password-1") {
		t.Errorf("logs page (web, login):\n%s", w.last)
	}

	// The box's DNS serves the zone: each record matches. It loads a new
	// snapshot within a poll interval, so look until it has.
	for i := 0; ; i++ {
		w.do("GET", base+"admin/dns?domain=example.test", nil)
		if strings.Contains(w.last, "✓ matches") && !strings.Contains(w.last, `class="warn"`) && !strings.Contains(w.last, `class="bad"`) {
			break
		}
		if i == 100 {
			t.Fatalf("DNS page never matched:\n%s", w.last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"mail.example.test.", "192.0.2.63", "v=spf1", "_dmarc"} {
		if !strings.Contains(w.last, want) {
			t.Errorf("DNS page lacks %q", want)
		}
	}
}

// TestWebCertificateUpload: an admin installs a certificate and key from
// the dashboard; the mail services present it at once. One for another
// name is refused.
func TestWebCertificateUpload(t *testing.T) {
	dir := t.TempDir()
	core := startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	base := core.AdminURL()
	w := newWebClient(t)
	w.login(base, "admin@example.test", "admin-password-1")

	wrongCert, wrongKey := makeCert(t, "mail.other.test", 41)
	w.do("GET", base+"admin", nil)
	w.postFiles(base+"admin/tls", map[string][]byte{"cert": wrongCert, "key": wrongKey})
	w.do("GET", base+"admin", nil)
	if !strings.Contains(w.last, "not for mail.example.test") {
		t.Errorf("a certificate for another name: no error on the page")
	}
	if got := servedSerial(t, core.Addr("imaps")); got == 41 {
		t.Fatal("a certificate for another name was installed")
	}

	certPEM, keyPEM := makeCert(t, "mail.example.test", 42)
	w.postFiles(base+"admin/tls", map[string][]byte{"cert": certPEM, "key": keyPEM})
	w.do("GET", base+"admin", nil)
	if !strings.Contains(w.last, "Certificate installed") {
		t.Errorf("no confirmation after the upload:\n%s", w.last)
	}
	if got := servedSerial(t, core.Addr("imaps")); got != 42 {
		t.Errorf("IMAPS presents serial %d, want the uploaded 42", got)
	}
}

// postFiles sends a multipart form with files and the last page's CSRF
// token.
func (w *webClient) postFiles(u string, files map[string][]byte) *http.Response {
	w.t.Helper()
	m := csrfField.FindStringSubmatch(w.last)
	if m == nil {
		w.t.Fatalf("no CSRF token on the last page")
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", m[1])
	for name, data := range files {
		fw, _ := mw.CreateFormFile(name, name+".pem")
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", u, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// makeCert makes a certificate for name with the given serial, as PEM.
func makeCert(t *testing.T, name string, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// servedSerial is the serial number of the certificate addr presents.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestWebQueue: a message for another server waits in the queue (its DNS
// does not answer); the queue page lists it, retries it and drops it.
func TestWebQueue(t *testing.T) {
	const ip = "127.0.0.64"
	dir := t.TempDir()
	core := startWebCore(t, ip, dir, ip+":9") // nothing answers DNS there
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-hostname", "mail.example.test", "-domain", "example.test", "-admin", "admin@example.test")
	c, err := smtp.DialTLS(core.Addr("submissions"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "admin@example.test", "admin-password-1")); err != nil {
		t.Fatal(err)
	}
	msg := "From: admin@example.test\r\nTo: far@example.org\r\nSubject: away\r\n\r\nhello\r\n"
	if err := c.SendMail("admin@example.test", []string{"far@example.org"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()

	base := core.AdminURL()
	w := newWebClient(t)
	w.login(base, "admin@example.test", "admin-password-1")
	w.do("GET", base+"admin/queue", nil)
	m := regexp.MustCompile(`name="id" value="(\d+)"`).FindStringSubmatch(w.last)
	if m == nil || !strings.Contains(w.last, "far@example.org") {
		t.Fatalf("queue page lacks the message:\n%s", w.last)
	}
	w.post(base+"admin/queue/retry", url.Values{"id": {m[1]}})
	w.do("GET", base+"admin/queue", nil)
	if !strings.Contains(w.last, "will be tried again now") {
		t.Errorf("no confirmation of the retry:\n%s", w.last)
	}
	w.post(base+"admin/queue/drop", url.Values{"id": {m[1]}})
	var q []json.RawMessage
	if err := ctl.Call(appliance.CtlPath(dir), "queue.list", nil, &q); err != nil {
		t.Fatal(err)
	}
	if len(q) != 0 {
		t.Errorf("queue after the drop: %s", q)
	}
	w.do("GET", base+"admin/queue", nil)
	if !strings.Contains(w.last, "removed from the queue") || !strings.Contains(w.last, "The queue is empty") {
		t.Errorf("queue page after the drop:\n%s", w.last)
	}
}
