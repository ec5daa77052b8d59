package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session lifetimes.
const (
	sessionIdle = 2 * time.Hour
	maxSessions = 10000
	cookieName  = "facteur_session"
)

// session is one browser's state. A visitor gets an anonymous session
// (just a CSRF token) on the first page; logging in or opening the setup
// token gives a new session id, so an id seen before login is worthless.
type session struct {
	id    string
	csrf  string
	user  string // "" until logged in
	admin bool
	// wizard is set for the setup token's holder until setup is applied.
	wizard bool
	draft  *SetupRequest
	// pendingCert and pendingKey are an uploaded pair, installed with
	// the setup.
	pendingCert, pendingKey []byte
	flash                   string
	seen                    time.Time
}

// sessions holds the sessions in memory: a restart of the program logs
// everybody out, which is acceptable for an appliance's admin pages.
type sessions struct {
	now func() time.Time

	// mu guards m and every session in it.
	mu sync.Mutex
	m  map[string]*session
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the request's session, or nil.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.m[c.Value]
	if se == nil {
		return nil
	}
	if s.now().Sub(se.seen) > sessionIdle {
		delete(s.m, se.id)
		return nil
	}
	se.seen = s.now()
	cp := *se
	return &cp
}

// create stores a new session built by fill and sets its cookie.
func (s *sessions) create(w http.ResponseWriter, r *http.Request, fill func(*session)) *session {
	se := &session{id: randomToken(), csrf: randomToken(), seen: s.now()}
	if fill != nil {
		fill(se)
	}
	s.mu.Lock()
	s.pruneLocked()
	s.m[se.id] = se
	s.mu.Unlock()
	// Lax, not Strict: right after setup the wizard moves from HTTP to
	// HTTPS, which browsers count as another site; CSRF tokens guard the
	// forms either way.
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: se.id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	cp := *se
	return &cp
}

// update applies fn to the stored session id.
func (s *sessions) update(id string, fn func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if se := s.m[id]; se != nil {
		fn(se)
	}
}

// takeFlash returns and clears the session's one-time message.
func (s *sessions) takeFlash(id string) string {
	var f string
	s.update(id, func(se *session) { f, se.flash = se.flash, "" })
	return f
}

// destroy ends a session and clears its cookie.
func (s *sessions) destroy(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// endUser ends every session of user (after a password change by an
// admin, a deletion or a disable), except keep.
func (s *sessions) endUser(user, keep string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, se := range s.m {
		if se.user == user && id != keep {
			delete(s.m, id)
		}
	}
}

// pruneLocked drops idle sessions, and the oldest ones past maxSessions.
func (s *sessions) pruneLocked() {
	now := s.now()
	for id, se := range s.m {
		if now.Sub(se.seen) > sessionIdle {
			delete(s.m, id)
		}
	}
	for len(s.m) >= maxSessions {
		var oldest *session
		for _, se := range s.m {
			if oldest == nil || se.seen.Before(oldest.seen) {
				oldest = se
			}
		}
		delete(s.m, oldest.id)
	}
}

// validCSRF compares the form's token with the session's in constant time.
func validCSRF(se *session, r *http.Request) bool {
	return validToken(se, r.PostFormValue("csrf"))
}

// validToken compares a CSRF token with the session's in constant time.
func validToken(se *session, got string) bool {
	return se != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) == 1
}
