package webui

import (
	"net/http"
	"strings"
)

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if !s.be.SetupDone() {
		s.notSetUp(w, r)
		return
	}
	se := s.session(w, r)
	if se.user != "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, se, "login", "Log in", nil)
}

// loginPost checks a login. Failures are rate limited per address and
// reported to the Backend (the firewall counts them).
func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	if !s.be.SetupDone() {
		s.notSetUp(w, r)
		return
	}
	se := s.sess.get(r)
	if !s.checkPost(w, r, se) {
		return
	}
	ip := remoteIP(r)
	if !s.limit.allowed(ip) {
		s.log.Warn("web login refused: too many failures", "remote", ip.String())
		w.WriteHeader(http.StatusTooManyRequests)
		s.render(w, r, se, "login", "Log in", "Too many failed attempts from your address. Wait 15 minutes and try again.")
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	acct, err := s.be.Authenticate(r.Context(), user, r.PostFormValue("password"))
	if err != nil {
		s.limit.failed(ip)
		s.be.AuthFailed(remoteAddr(r), user)
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, se, "login", "Log in", "Wrong address or password.")
		return
	}
	s.sess.destroy(w, r, se.id)
	s.sess.create(w, r, func(n *session) { n.user, n.admin = acct.Address, acct.Admin })
	s.log.Info("web login", "user", acct.Address, "admin", acct.Admin, "remote", ip.String())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	se := s.sess.get(r)
	if !s.checkPost(w, r, se) {
		return
	}
	s.sess.destroy(w, r, se.id)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
