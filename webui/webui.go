// Package webui is Facteur's web interface: the first-boot setup wizard,
// the admin console, the users' own pages, and the mail client discovery
// endpoints (Thunderbird autoconfig, Outlook autodiscover, an Apple
// configuration profile). Pages are server-rendered html/template with
// their CSS and a few lines of JavaScript embedded in the binary.
//
// Security: until setup is done only the holder of the one-time setup
// token gets the wizard; afterwards plain HTTP redirects to HTTPS. Sessions
// live in memory behind an HttpOnly, SameSite=Lax cookie (Secure over
// HTTPS), every form carries the session's CSRF token, logins are rate
// limited per address and every failure goes to Backend.AuthFailed (which
// feeds the firewall's bans). Admin pages check the session's admin flag
// on the server. Passwords are never logged or put in URLs.
//
// The package knows nothing of the appliance: it talks to the box through
// the Backend interface.
package webui

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	// HTTPSPort is where plain HTTP redirects after setup; 443 when 0.
	HTTPSPort int
	// Dev says the box runs in dev mode: the network step is shown but
	// never applied.
	Dev bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the web UI's http.Handler. One Server outlives the HTTP
// servers that use it (the appliance restarts those on a settings change),
// so sessions survive.
type Server struct {
	be    Backend
	opts  Options
	log   *slog.Logger
	sess  *sessions
	limit *limiter
	pages pageSet
	mux   *http.ServeMux
}

// New returns the web UI over be.
func New(be Backend, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPSPort == 0 {
		opts.HTTPSPort = 443
	}
	s := &Server{
		be: be, opts: opts, log: opts.Logger,
		sess:  &sessions{now: opts.Now, m: map[string]*session{}},
		limit: &limiter{now: opts.Now, fails: map[netip.Addr][]time.Time{}},
		pages: parsePages(),
		mux:   http.NewServeMux(),
	}
	s.routes()
	return s
}

// ServeHTTP adds the security headers, redirects to HTTPS once set up,
// and recovers from a handler's panic with a generic error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// No HSTS: with a self-signed certificate, a browser that remembered
	// it could lock the admin out when the certificate changes.
	if r.TLS == nil && s.be.SetupDone() && !isDiscovery(r.URL.Path) {
		s.redirectHTTPS(w, r)
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("web handler panic", "path", r.URL.Path, "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

func (s *Server) redirectHTTPS(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, s.httpsURL(r, r.URL.RequestURI()), http.StatusMovedPermanently)
}

// httpsURL is path on the HTTPS side of the host r asked for.
func (s *Server) httpsURL(r *http.Request, path string) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if s.opts.HTTPSPort != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(s.opts.HTTPSPort))
	} else if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		host = "[" + host + "]"
	}
	return "https://" + host + path
}

func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /static/", http.FileServerFS(staticFS))
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.loginPost)
	m.HandleFunc("POST /logout", s.logout)
	s.wizardRoutes()
	s.adminRoutes()
	s.updateRoutes()
	s.userRoutes()
	s.discoveryRoutes()
}

// remoteIP is the client's address (the box faces clients directly; no
// proxy headers are trusted).
func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

type tcpAddr struct{ netip.AddrPort }

func (a tcpAddr) Network() string { return "tcp" }

// remoteAddr is r's client as a net.Addr for Backend.AuthFailed.
func remoteAddr(r *http.Request) net.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return tcpAddr{ap}
}

// home sends a visitor where they belong.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if !s.be.SetupDone() {
		s.notSetUp(w, r)
		return
	}
	se := s.sess.get(r)
	switch {
	case se == nil || se.user == "":
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case se.admin:
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	}
}

// notSetUp is every page but the wizard's before setup.
func (s *Server) notSetUp(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusForbidden)
	s.render(w, r, nil, "notsetup", "Not set up yet", nil)
}
