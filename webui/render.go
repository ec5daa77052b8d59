package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticRoot embed.FS

// staticFS serves /static/... from the embedded folder.
var staticFS fs.FS = staticRoot

// pageSet holds each page parsed together with the layout.
type pageSet map[string]*template.Template

var funcs = template.FuncMap{
	"size": humanSize,
	"pct": func(used, total int64) int64 {
		if total <= 0 {
			return 0
		}
		return used * 100 / total
	},
	"join": strings.Join,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return time.Since(t).Round(time.Second).String()
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("2006-01-02 15:04")
	},
	"dur":  func(d time.Duration) string { return d.Round(time.Second).String() },
	"days": func(t time.Time) int { return int(time.Until(t).Hours() / 24) },
	"mb":   func(b int64) int64 { return b >> 20 },
	"bars": bars,
}

func parsePages() pageSet {
	ps := pageSet{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "shared" {
			continue
		}
		ps[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/shared.html", n))
	}
	return ps
}

// view is what every page's template gets.
type view struct {
	Title  string
	Page   string
	User   string
	Admin  bool
	Wizard bool
	CSRF   string
	Flash  string
	Error  string
	Data   any
}

// render writes page name with data; se may be nil.
func (s *Server) render(w http.ResponseWriter, r *http.Request, se *session, name, title string, data any) {
	v := view{Title: title, Page: name, Data: data}
	if se != nil {
		v.User, v.Admin, v.Wizard, v.CSRF = se.user, se.admin, se.wizard, se.csrf
		v.Flash = s.sess.takeFlash(se.id)
		if strings.HasPrefix(v.Flash, "!") {
			v.Error, v.Flash = v.Flash[1:], ""
		}
	}
	t := s.pages[name]
	if t == nil {
		panic("no page " + name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// session returns the request's session, creating an anonymous one (for
// its CSRF token) when there is none.
func (s *Server) session(w http.ResponseWriter, r *http.Request) *session {
	if se := s.sess.get(r); se != nil {
		return se
	}
	return s.sess.create(w, r, nil)
}

// done sets a one-time message (an error when it starts with "!") and
// redirects with 303, the end of every successful or failed form.
func (s *Server) done(w http.ResponseWriter, r *http.Request, se *session, to, msg string) {
	s.sess.update(se.id, func(x *session) { x.flash = msg })
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fail reports err on the next page, in plain words, and logs it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, se *session, to, what string, err error) {
	s.log.Info("web action failed", "what", what, "user", se.user, "err", err)
	s.done(w, r, se, to, "!"+what+": "+err.Error())
}

// checkPost parses a POST form and checks its CSRF token; it answers 403
// itself when the token is wrong.
func (s *Server) checkPost(w http.ResponseWriter, r *http.Request, se *session) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		http.Error(w, "bad form", http.StatusBadRequest)
		return false
	}
	if !validCSRF(se, r) {
		s.log.Warn("web form refused: bad CSRF token", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "This form has expired. Go back, reload the page and try again.", http.StatusForbidden)
		return false
	}
	return true
}

// requireUser returns the logged-in session, or redirects to the login.
func (s *Server) requireUser(w http.ResponseWriter, r *http.Request) *session {
	if !s.be.SetupDone() {
		s.notSetUp(w, r)
		return nil
	}
	se := s.sess.get(r)
	if se == nil || se.user == "" {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		} else {
			http.Error(w, "log in first", http.StatusForbidden)
		}
		return nil
	}
	return se
}

// requireAdmin is requireUser for admins only: a user gets 403.
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) *session {
	se := s.requireUser(w, r)
	if se == nil {
		return nil
	}
	if !se.admin {
		s.log.Warn("web: non-admin refused an admin page", "user", se.user, "path", r.URL.Path)
		w.WriteHeader(http.StatusForbidden)
		s.render(w, r, se, "forbidden", "Not allowed", nil)
		return nil
	}
	return se
}

func humanSize(n any) string {
	var b float64
	switch v := n.(type) {
	case int64:
		b = float64(v)
	case uint64:
		b = float64(v)
	case int:
		b = float64(v)
	}
	units := []string{"B", "KB", "MB", "GB", "TB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
