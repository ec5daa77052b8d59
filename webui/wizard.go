package webui

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/netip"
	"strings"
	"time"
	_ "time/tzdata" // the device has no zoneinfo files
)

// The wizard's steps, in order. Steps up to "review" collect a draft in
// the wizard's session; "review" applies it (Backend.Setup, the same code
// as `facteur setup`), which kills the setup token and turns the session
// into the new admin's, so the last steps are admin pages.
var wizardSteps = []struct{ ID, Title string }{
	{"admin", "Administrator"},
	{"domain", "Mail domain"},
	{"network", "Network"},
	{"timezone", "Time zone"},
	{"tls", "Certificate"},
	{"dnsmode", "DNS"},
	{"review", "Review and apply"},
	{"records", "DNS records"},
	{"users", "User accounts"},
	{"summary", "Checks"},
}

const applyStep = 6 // index of "review"

// wizardDraft is what the steps collected so far.
type wizardDraft struct {
	SetupRequest
	TLSMode         string // "self" or "upload"
	CertPEM, KeyPEM []byte
}

// wizardView is the wizard template's data.
type wizardView struct {
	Steps []struct{ ID, Title string }
	Index int
	Step  string
	Draft wizardDraft
	Dev   bool
	// Extra is the step's own data (records, accounts, checks).
	Extra any
}

func (s *Server) wizardRoutes() {
	s.mux.HandleFunc("GET /setup", s.setupToken)
	s.mux.HandleFunc("GET /setup/{step}", s.wizardGet)
	s.mux.HandleFunc("POST /setup/{step}", s.wizardPost)
}

// setupToken opens the wizard for the holder of the one-time token, then
// redirects so the token leaves the address bar.
func (s *Server) setupToken(w http.ResponseWriter, r *http.Request) {
	if s.be.SetupDone() {
		w.WriteHeader(http.StatusGone)
		s.render(w, r, nil, "message", "Already set up", "This box is already set up: the setup link no longer works. Log in with the administrator account.")
		return
	}
	ip := remoteIP(r)
	if !s.limit.allowed(ip) {
		w.WriteHeader(http.StatusTooManyRequests)
		s.render(w, r, nil, "message", "Too many attempts", "Too many wrong setup links from your address. Wait 15 minutes.")
		return
	}
	if !s.be.CheckSetupToken(r.URL.Query().Get("token")) {
		s.limit.failed(ip)
		s.be.AuthFailed(remoteAddr(r), "setup")
		s.notSetUp(w, r)
		return
	}
	if old := s.sess.get(r); old != nil {
		s.sess.destroy(w, r, old.id)
	}
	s.sess.create(w, r, func(n *session) {
		n.wizard = true
		n.draft = &SetupRequest{Network: Network{Mode: "dhcp"}, TimeZone: "UTC", DNSMode: "own"}
	})
	s.log.Info("setup wizard opened", "remote", ip.String())
	http.Redirect(w, r, "/setup/admin", http.StatusSeeOther)
}

func stepIndex(id string) int {
	for i, st := range wizardSteps {
		if st.ID == id {
			return i
		}
	}
	return -1
}

// wizardSession checks who may see step i: before applying, the token's
// holder on a box not yet set up; after, the admin.
func (s *Server) wizardSession(w http.ResponseWriter, r *http.Request, i int) *session {
	if i < 0 {
		http.NotFound(w, r)
		return nil
	}
	if i > applyStep {
		return s.requireAdmin(w, r)
	}
	se := s.sess.get(r)
	if s.be.SetupDone() || se == nil || !se.wizard || se.draft == nil {
		s.notSetUp(w, r)
		return nil
	}
	return se
}

func (s *Server) wizardGet(w http.ResponseWriter, r *http.Request) {
	i := stepIndex(r.PathValue("step"))
	se := s.wizardSession(w, r, i)
	if se == nil {
		return
	}
	v := wizardView{Steps: wizardSteps, Index: i, Step: wizardSteps[i].ID, Dev: s.opts.Dev}
	s.sess.update(se.id, func(x *session) {
		if x.draft != nil {
			v.Draft = wizardDraft{SetupRequest: *x.draft, TLSMode: "self"}
		}
		if x.pendingCert != nil {
			v.Draft.TLSMode = "upload"
		}
	})
	ctx := r.Context()
	switch v.Step {
	case "records":
		var reports []*DNSReport
		domains, err := s.be.Domains(ctx)
		for _, d := range domains {
			rep, err2 := s.be.DNSRecords(ctx, d)
			if err2 == nil {
				reports = append(reports, rep)
			}
			err = errors.Join(err, err2)
		}
		if err != nil {
			s.log.Warn("wizard: dns records", "err", err)
		}
		v.Extra = reports
	case "users":
		v.Extra, _ = s.be.Accounts(ctx)
	case "summary":
		v.Extra = s.be.Checks(ctx)
	}
	s.render(w, r, se, "wizard", "Set up your mail box: "+wizardSteps[i].Title, v)
}

func (s *Server) wizardPost(w http.ResponseWriter, r *http.Request) {
	i := stepIndex(r.PathValue("step"))
	se := s.wizardSession(w, r, i)
	if se == nil || !s.checkPost(w, r, se) {
		return
	}
	step := wizardSteps[i].ID
	here := "/setup/" + step
	var err error
	switch step {
	case "review":
		s.applySetup(w, r, se)
		return
	case "users":
		addr := strings.TrimSpace(r.PostFormValue("address"))
		if err = checkNewPassword(r); err == nil {
			err = s.be.AddAccount(r.Context(), addr, r.PostFormValue("password"))
		}
		if err != nil {
			s.fail(w, r, se, here, "Add "+addr, err)
			return
		}
		s.done(w, r, se, here, addr+" can now receive mail.")
		return
	case "records", "summary":
		http.Redirect(w, r, "/setup/"+wizardSteps[min(i+1, len(wizardSteps)-1)].ID, http.StatusSeeOther)
		return
	}
	var cert []byte
	var key []byte
	if step == "tls" && r.PostFormValue("tls") == "upload" {
		cert, key, err = uploadedPair(r)
	}
	if err == nil {
		s.sess.update(se.id, func(x *session) { err = fillDraft(x.draft, step, r) })
	}
	if err != nil {
		s.done(w, r, se, here, "!"+err.Error())
		return
	}
	if step == "tls" {
		s.sess.update(se.id, func(x *session) { x.pendingCert, x.pendingKey = cert, key })
	}
	http.Redirect(w, r, "/setup/"+wizardSteps[i+1].ID, http.StatusSeeOther)
}

// applySetup runs the draft through Backend.Setup and logs the wizard's
// holder in as the new admin.
func (s *Server) applySetup(w http.ResponseWriter, r *http.Request, se *session) {
	var draft SetupRequest
	var cert, key []byte
	s.sess.update(se.id, func(x *session) { draft, cert, key = *x.draft, x.pendingCert, x.pendingKey })
	if draft.Admin == "" || draft.Password == "" || draft.Domain == "" {
		s.done(w, r, se, "/setup/admin", "!Some steps are missing: start with the administrator.")
		return
	}
	ctx := r.Context()
	if err := s.be.Setup(ctx, draft); err != nil {
		s.fail(w, r, se, "/setup/review", "Setup", err)
		return
	}
	if cert != nil {
		if err := s.be.InstallCertificate(ctx, cert, key); err != nil {
			s.log.Warn("wizard: certificate not installed", "err", err)
		}
	}
	s.log.Info("setup done from the web wizard", "admin", draft.Admin, "domain", draft.Domain)
	s.sess.destroy(w, r, se.id)
	n := s.sess.create(w, r, func(n *session) { n.user, n.admin, n.wizard = draft.Admin, true, true })
	if r.TLS != nil {
		s.done(w, r, n, "/setup/records", "The box is set up. You are logged in as "+draft.Admin+".")
		return
	}
	// From now on the box only speaks HTTPS. A redirect would not do:
	// browsers apply the form's CSP (form-action 'self') to redirects, and
	// the HTTPS address is another origin. So the next step is a link.
	s.render(w, r, n, "applied", "The box is set up", s.httpsURL(r, "/setup/records"))
}

// fillDraft validates one step's form into d.
func fillDraft(d *SetupRequest, step string, r *http.Request) error {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	switch step {
	case "admin":
		addr := strings.ToLower(f("admin"))
		local, domain, ok := strings.Cut(addr, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") {
			return fmt.Errorf("%q is not an email address like admin@example.com", addr)
		}
		if err := checkNewPassword(r); err != nil {
			return err
		}
		d.Admin, d.Password = addr, r.PostFormValue("password")
		if d.Domain == "" || !strings.HasSuffix(addr, "@"+d.Domain) {
			d.Domain, d.Hostname = domain, "mail."+domain
		}
	case "domain":
		dom := strings.ToLower(strings.TrimSuffix(f("domain"), "."))
		if !strings.HasSuffix(d.Admin, "@"+dom) {
			return fmt.Errorf("the administrator %s must be an address of %s: change one of them", d.Admin, dom)
		}
		d.Domain, d.Hostname = dom, strings.ToLower(f("hostname"))
		if d.Hostname == "" {
			d.Hostname = "mail." + dom
		}
	case "network":
		return fillNetwork(d, f)
	case "timezone":
		if _, err := time.LoadLocation(f("timezone")); err != nil || f("timezone") == "" {
			return fmt.Errorf("unknown time zone %q: use a name like Europe/Paris", f("timezone"))
		}
		d.TimeZone = f("timezone")
	case "tls":
		// The pair itself was checked by uploadedPair.
	case "dnsmode":
		if m := f("dnsmode"); m == "own" || m == "external" {
			d.DNSMode = m
		} else {
			return errors.New("choose how the domain's DNS is run")
		}
	}
	return nil
}

func fillNetwork(d *SetupRequest, f func(string) string) error {
	n := Network{Mode: f("mode"), IPv4: f("ipv4"), Gateway4: f("gateway4"), IPv6: f("ipv6"), Gateway6: f("gateway6"), DNSServers: strings.Fields(strings.ReplaceAll(f("dns"), ",", " "))}
	var ips []string
	for _, ip := range strings.Fields(strings.ReplaceAll(f("public"), ",", " ")) {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("public address %q is not an IP address", ip)
		}
		ips = append(ips, ip)
	}
	switch n.Mode {
	case "dhcp":
		n = Network{Mode: "dhcp"}
	case "static":
		if n.IPv4 == "" && n.IPv6 == "" {
			return errors.New("a static network needs an IPv4 or IPv6 address")
		}
		for _, p := range []string{n.IPv4, n.IPv6} {
			if _, err := netip.ParsePrefix(p); p != "" && err != nil {
				return fmt.Errorf("%q is not an address with its prefix length, like 192.168.1.10/24", p)
			}
		}
		for _, a := range append([]string{n.Gateway4, n.Gateway6}, n.DNSServers...) {
			if _, err := netip.ParseAddr(a); a != "" && err != nil {
				return fmt.Errorf("%q is not an IP address", a)
			}
		}
	default:
		return errors.New("choose automatic (DHCP) or fixed addresses")
	}
	d.Network, d.PublicIPs = n, ips
	return nil
}

// checkNewPassword checks the password fields of a form.
func checkNewPassword(r *http.Request) error {
	pw := r.PostFormValue("password")
	if len(pw) < 10 {
		return errors.New("the password must have at least 10 characters")
	}
	if pw != r.PostFormValue("password2") {
		return errors.New("the two passwords differ")
	}
	return nil
}

// uploadedPair reads and checks an uploaded certificate and key.
func uploadedPair(r *http.Request) (cert, key []byte, err error) {
	read := func(name string) ([]byte, error) {
		f, _, err := r.FormFile(name)
		if err != nil {
			return nil, fmt.Errorf("choose the %s file", name)
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f.(multipart.File), 256<<10))
	}
	if cert, err = read("cert"); err != nil {
		return nil, nil, err
	}
	if key, err = read("key"); err != nil {
		return nil, nil, err
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		return nil, nil, fmt.Errorf("the certificate and key do not fit together: %v", err)
	}
	return cert, key, nil
}
