package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxBundle bounds an uploaded update bundle.
const maxBundle = 1 << 30

// updateActions are the buttons of the update page and what they say
// when done.
var updateActions = map[string]string{
	"check":           "The box is looking for updates now.",
	"install-now":     "The update is being installed. The box restarts in a few minutes; mail waits meanwhile.",
	"install-tonight": "The update will be installed tonight.",
	"upload-now":      "The uploaded update is being installed. The box restarts in a few minutes; mail waits meanwhile.",
	"upload-tonight":  "The uploaded update will be installed tonight.",
	"cancel":          "The planned installation is cancelled. The update stays available here.",
	"discard":         "The uploaded file was deleted.",
}

func (s *Server) updateRoutes() {
	s.adminPage("/admin/updates", "updates", "Updates", func(ctx context.Context, r *http.Request) (any, error) {
		return s.be.Updates(ctx)
	})
	s.adminAction("updates/action", "updates", func(ctx context.Context, f form) (string, error) {
		a := f.v("action")
		msg, ok := updateActions[a]
		if !ok {
			return "", fmt.Errorf("unknown request %q", a)
		}
		return msg, s.be.UpdateAction(ctx, a)
	})
	s.adminAction("updates/policy", "updates", func(ctx context.Context, f form) (string, error) {
		return "Saved.", s.be.SetUpdatePolicy(ctx, UpdateSettings{Auto: f.v("auto"), Channel: f.v("channel"), Feed: f.v("feed")})
	})
	s.mux.HandleFunc("POST /admin/updates/upload", s.uploadUpdate)
}

// uploadUpdate streams an uploaded bundle to the backend without holding
// it in memory. The form's csrf field must come before the file.
func (s *Server) uploadUpdate(w http.ResponseWriter, r *http.Request) {
	se := s.requireAdmin(w, r)
	if se == nil {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBundle+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	csrf, err := mr.NextPart()
	if err != nil || csrf.FormName() != "csrf" || !validToken(se, readSmall(csrf)) {
		s.log.Warn("web form refused: bad CSRF token", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "This form has expired. Go back, reload the page and try again.", http.StatusForbidden)
		return
	}
	file, err := mr.NextPart()
	if err != nil || file.FormName() != "bundle" {
		s.fail(w, r, se, "/admin/updates", "Not uploaded", errors.New("choose an update file first"))
		return
	}
	o, err := s.be.UploadUpdate(r.Context(), file, r.ContentLength)
	if err != nil {
		s.fail(w, r, se, "/admin/updates", "Not accepted", err)
		return
	}
	s.log.Info("web admin action", "action", "updates/upload", "admin", se.user, "version", o.Version, "build", o.Build)
	s.done(w, r, se, "/admin/updates", fmt.Sprintf("Update %s (build %d) uploaded and its signature checked. Choose when to install it.", o.Version, o.Build))
}

// readSmall reads a short form field.
func readSmall(p interface{ Read([]byte) (int, error) }) string {
	b := make([]byte, 256)
	n := 0
	for n < len(b) {
		m, err := p.Read(b[n:])
		n += m
		if err != nil {
			break
		}
	}
	return strings.TrimSpace(string(b[:n]))
}
