package webui

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// upload posts a bundle as the update form does; fields are written in
// the order given.
func (b *browser) upload(fields [][2]string) *http.Response {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if f[0] == "bundle" {
			w, _ := mw.CreateFormFile("bundle", "v1.6.bundle")
			w.Write([]byte(f[1]))
		} else {
			mw.WriteField(f[0], f[1])
		}
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+"/admin/updates/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func TestUpdatePageUpload(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	b.login("admin@example.test", "admin-password")
	wantStatus(t, "update page", b.get("/admin/updates"), http.StatusOK)
	for _, want := range []string{"Facteur <b>1.5</b> (build 5", "Upload and check", "Check now"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("update page lacks %q", want)
		}
	}
	tok := b.csrf()

	wantStatus(t, "upload without token", b.upload([][2]string{{"bundle", "BUNDLE v1.6"}}), http.StatusForbidden)
	wantStatus(t, "upload with a forged token", b.upload([][2]string{{"csrf", "forged"}, {"bundle", "BUNDLE v1.6"}}), http.StatusForbidden)
	wantStatus(t, "token after the file", b.upload([][2]string{{"bundle", "BUNDLE v1.6"}, {"csrf", tok}}), http.StatusForbidden)
	if e.be.uploaded != "" {
		t.Fatal("a refused form reached the backend")
	}

	resp := b.upload([][2]string{{"csrf", tok}, {"bundle", "not a bundle"}})
	wantStatus(t, "bad bundle", resp, http.StatusSeeOther)
	b.get(resp.Header.Get("Location"))
	if !strings.Contains(b.last, "not an update bundle") {
		t.Errorf("refusal not shown:\n%s", b.last)
	}

	resp = b.upload([][2]string{{"csrf", tok}, {"bundle", "BUNDLE v1.6"}})
	wantStatus(t, "upload", resp, http.StatusSeeOther)
	b.get(resp.Header.Get("Location"))
	for _, want := range []string{"Update 1.6 (build 6) uploaded", "Uploaded: version <b>1.6</b>", "Uploaded notes.", `value="upload-now"`, `value="upload-tonight"`} {
		if !strings.Contains(b.last, want) {
			t.Errorf("page after upload lacks %q", want)
		}
	}
	b.post("/admin/updates/action", url.Values{"action": {"upload-tonight"}}, true)
	b.get("/admin/updates")
	b.post("/admin/updates/action", url.Values{"action": {"reboot-everything"}}, true)
	b.post("/admin/updates/action", url.Values{"action": {"install-now"}}, false)
	if got := e.be.updateActions; !slices.Equal(got, []string{"upload-tonight"}) {
		t.Errorf("actions reaching the agent = %q, want only upload-tonight", got)
	}
	b.get("/admin/updates")
	b.post("/admin/updates/policy", url.Values{"auto": {"off"}}, true)
	if e.be.updateAuto != "off" {
		t.Errorf("policy = %q", e.be.updateAuto)
	}
}

func TestUserCannotUpdate(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	b.login("alice@example.test", "alice-password")
	wantStatus(t, "update page", b.get("/admin/updates"), http.StatusForbidden)
	b.get("/me")
	tok := b.csrf()
	wantStatus(t, "upload", b.upload([][2]string{{"csrf", tok}, {"bundle", "BUNDLE v1.6"}}), http.StatusForbidden)
	wantStatus(t, "install", b.post("/admin/updates/action", url.Values{"action": {"install-now"}}, true), http.StatusForbidden)
	if e.be.uploaded != "" || len(e.be.updateActions) != 0 {
		t.Error("a user reached the update agent")
	}
}
