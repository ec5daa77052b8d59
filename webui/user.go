package webui

import (
	"errors"
	"net/http"
	"strings"
)

// The user pages only ever read the session's own account: no page takes
// an address from the request, so a user cannot reach another's data.
func (s *Server) userRoutes() {
	s.mux.HandleFunc("GET /me", s.mePage)
	s.mux.HandleFunc("POST /me/password", s.mePassword)
	s.mux.HandleFunc("GET /me/client", s.clientPage)
	s.mux.HandleFunc("GET /me/facteur.mobileconfig", s.mobileconfig)
}

type meView struct {
	Account Account
	Client  ClientSettings
}

func (s *Server) mePage(w http.ResponseWriter, r *http.Request) {
	se := s.requireUser(w, r)
	if se == nil {
		return
	}
	acct, err := s.be.Account(r.Context(), se.user)
	if err != nil {
		s.log.Warn("web: own account", "user", se.user, "err", err)
		s.render(w, r, se, "message", "Your account", "Your account cannot be read right now.")
		return
	}
	s.render(w, r, se, "me", "Your account", meView{Account: acct, Client: s.be.Client()})
}

// mePassword changes the user's own password; the current one is asked
// again, and a wrong one counts as a failed login.
func (s *Server) mePassword(w http.ResponseWriter, r *http.Request) {
	se := s.requireUser(w, r)
	if se == nil || !s.checkPost(w, r, se) {
		return
	}
	ip := remoteIP(r)
	if !s.limit.allowed(ip) {
		s.done(w, r, se, "/me", "!Too many failed attempts. Wait 15 minutes.")
		return
	}
	if _, err := s.be.Authenticate(r.Context(), se.user, r.PostFormValue("current")); err != nil {
		s.limit.failed(ip)
		s.be.AuthFailed(remoteAddr(r), se.user)
		s.done(w, r, se, "/me", "!Your current password is not right.")
		return
	}
	if err := checkNewPassword(r); err != nil {
		s.done(w, r, se, "/me", "!"+err.Error())
		return
	}
	if r.PostFormValue("password") == r.PostFormValue("current") {
		s.done(w, r, se, "/me", "!"+errors.New("the new password is the same as the old one").Error())
		return
	}
	if err := s.be.SetPassword(r.Context(), se.user, r.PostFormValue("password")); err != nil {
		s.fail(w, r, se, "/me", "Password", err)
		return
	}
	s.sess.endUser(se.user, se.id) // other browsers must log in again
	s.log.Info("web: password changed", "user", se.user)
	s.done(w, r, se, "/me", "Your password is changed. Use the new one in your mail apps too.")
}

func (s *Server) clientPage(w http.ResponseWriter, r *http.Request) {
	se := s.requireUser(w, r)
	if se == nil {
		return
	}
	acct := Account{Address: se.user}
	s.render(w, r, se, "client", "Set up your mail app", meView{Account: acct, Client: s.be.Client()})
}

func (s *Server) mobileconfig(w http.ResponseWriter, r *http.Request) {
	se := s.requireUser(w, r)
	if se == nil {
		return
	}
	body := appleProfile(se.user, s.be.Client())
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	name := strings.NewReplacer("@", "-at-", ".", "-").Replace(se.user)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.mobileconfig"`)
	w.Write(body)
}
