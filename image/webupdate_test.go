package image

import (
	"crypto/tls"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// admin is a logged-in web UI session on the box's forwarded HTTPS port.
type admin struct {
	v    *vm
	cl   *http.Client
	base string
	last string
}

// loginAdmin logs in to the web UI as the admin the wizard created.
func (v *vm) loginAdmin() *admin {
	v.t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &admin{v: v, base: fmt.Sprintf("https://127.0.0.1:%d", v.ports[443]), cl: &http.Client{Jar: jar, Timeout: 5 * time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	a.get("/login")
	a.post("/login", url.Values{"user": {adminAddr}, "password": {adminPass}})
	if !strings.Contains(a.last, "Log out") {
		v.t.Fatalf("admin login failed: %.500s", a.last)
	}
	return a
}

func (a *admin) get(path string) string {
	a.v.t.Helper()
	resp, err := a.cl.Get(a.base + path)
	if err != nil {
		a.v.t.Fatal(err)
	}
	a.read(resp)
	return a.last
}

func (a *admin) read(resp *http.Response) {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.last = string(b)
}

func (a *admin) csrf() string {
	m := csrfRE.FindStringSubmatch(a.last)
	if m == nil {
		a.v.t.Fatalf("no form on the last page: %.500s", a.last)
	}
	return m[1]
}

// post sends a form with the last page's CSRF token and follows the
// redirect to the page that reports the result.
func (a *admin) post(path string, form url.Values) string {
	a.v.t.Helper()
	form.Set("csrf", a.csrf())
	resp, err := a.cl.PostForm(a.base+path, form)
	if err != nil {
		a.v.t.Fatal(err)
	}
	a.read(resp)
	return a.last
}

// uploadBundle uploads a bundle file on the update page, as the form does
// (the CSRF field first, then the file).
func (a *admin) uploadBundle(path string) string {
	a.v.t.Helper()
	a.get("/admin/updates")
	f, err := os.Open(path)
	if err != nil {
		a.v.t.Fatal(err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("csrf", a.csrf())
		fw, _ := mw.CreateFormFile("bundle", "update.bundle")
		_, err := io.Copy(fw, f)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, err := a.cl.Post(a.base+"/admin/updates/upload", mw.FormDataContentType(), pr)
	if err != nil {
		a.v.t.Fatal(err)
	}
	a.read(resp)
	return a.last
}

var flashRE = regexp.MustCompile(`<p class="(?:flash|error)"[^>]*>[^<]*`)

// mustShow fails unless the last page contains each string.
func (a *admin) mustShow(what string, wants ...string) {
	a.v.t.Helper()
	for _, w := range wants {
		if !strings.Contains(a.last, w) {
			a.v.t.Errorf("%s: page lacks %q; its messages: %q", what, w, flashRE.FindAllString(a.last, -1))
		}
	}
}
