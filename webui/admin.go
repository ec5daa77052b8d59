package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

func (s *Server) adminRoutes() {
	s.adminPage("/admin", "dashboard", "Dashboard", func(ctx context.Context, r *http.Request) (any, error) {
		return s.be.Status(ctx)
	})
	s.adminPage("/admin/domains", "domains", "Domains", func(ctx context.Context, r *http.Request) (any, error) {
		return s.be.Domains(ctx)
	})
	s.adminPage("/admin/accounts", "accounts", "Accounts", s.accountsData)
	s.adminPage("/admin/aliases", "aliases", "Aliases and lists", s.aliasesData)
	s.adminPage("/admin/dns", "dns", "DNS records", s.dnsData)
	s.adminPage("/admin/firewall", "firewall", "Firewall", func(ctx context.Context, r *http.Request) (any, error) {
		return s.be.Firewall(ctx)
	})
	s.adminPage("/admin/queue", "queue", "Mail queue", func(ctx context.Context, r *http.Request) (any, error) {
		return s.be.Queue(ctx)
	})
	s.adminPage("/admin/logs", "logs", "Logs", s.logsData)

	s.adminAction("domains/add", "domains", func(ctx context.Context, f form) (string, error) {
		return "Domain " + f.v("domain") + " added. Publish its DNS records next.", s.be.AddDomain(ctx, f.v("domain"))
	})
	s.adminAction("domains/delete", "domains", func(ctx context.Context, f form) (string, error) {
		return "Domain " + f.v("domain") + " removed.", s.be.DeleteDomain(ctx, f.v("domain"))
	})
	s.adminAction("accounts/add", "accounts", func(ctx context.Context, f form) (string, error) {
		if err := checkNewPassword(f.r); err != nil {
			return "", err
		}
		return "Account " + f.v("address") + " created.", s.be.AddAccount(ctx, f.v("address"), f.r.PostFormValue("password"))
	})
	s.adminAction("accounts/delete", "accounts", s.accountDelete)
	s.adminAction("accounts/password", "accounts", func(ctx context.Context, f form) (string, error) {
		if err := checkNewPassword(f.r); err != nil {
			return "", err
		}
		err := s.be.SetPassword(ctx, f.v("address"), f.r.PostFormValue("password"))
		if err == nil {
			s.sess.endUser(f.v("address"), f.se.id)
		}
		return "New password set for " + f.v("address") + ".", err
	})
	s.adminAction("accounts/quota", "accounts", func(ctx context.Context, f form) (string, error) {
		mb, err := strconv.ParseInt(f.v("quota_mb"), 10, 64)
		if err != nil || mb < 0 {
			return "", errors.New("the quota is a number of megabytes (0 for none)")
		}
		return "Quota of " + f.v("address") + " set.", s.be.SetQuota(ctx, f.v("address"), mb<<20)
	})
	s.adminAction("accounts/disable", "accounts", s.accountDisable)
	s.adminAction("aliases/add", "aliases", func(ctx context.Context, f form) (string, error) {
		targets := strings.Fields(strings.NewReplacer(",", " ", ";", " ").Replace(f.v("targets")))
		return "Alias " + f.v("address") + " saved.", s.be.AddAlias(ctx, f.v("address"), targets)
	})
	s.adminAction("aliases/delete", "aliases", func(ctx context.Context, f form) (string, error) {
		return "Alias " + f.v("address") + " removed.", s.be.DeleteAlias(ctx, f.v("address"))
	})
	s.adminAction("firewall/unban", "firewall", func(ctx context.Context, f form) (string, error) {
		return f.v("ip") + " may connect again.", s.be.Unban(ctx, f.v("ip"))
	})
	s.adminAction("queue/retry", "queue", func(ctx context.Context, f form) (string, error) {
		id, err := strconv.ParseUint(f.v("id"), 10, 64)
		if err != nil {
			return "", errors.New("bad queue entry")
		}
		return fmt.Sprintf("Message %d will be tried again now.", id), s.be.QueueRetry(ctx, id)
	})
	s.adminAction("queue/drop", "queue", func(ctx context.Context, f form) (string, error) {
		id, err := strconv.ParseUint(f.v("id"), 10, 64)
		if err != nil {
			return "", errors.New("bad queue entry")
		}
		return fmt.Sprintf("Message %d removed from the queue.", id), s.be.QueueDrop(ctx, id)
	})
	s.adminAction("tls", "dashboard", func(ctx context.Context, f form) (string, error) {
		cert, key, err := uploadedPair(f.r)
		if err != nil {
			return "", err
		}
		return "Certificate installed.", s.be.InstallCertificate(ctx, cert, key)
	})
}

// adminPage registers GET path, rendering page with what data returns.
func (s *Server) adminPage(path, page, title string, data func(context.Context, *http.Request) (any, error)) {
	s.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		se := s.requireAdmin(w, r)
		if se == nil {
			return
		}
		if se.wizard { // out of the wizard: show the console's menu
			s.sess.update(se.id, func(x *session) { x.wizard = false })
			se.wizard = false
		}
		d, err := data(r.Context(), r)
		if err != nil {
			s.log.Warn("web page data", "page", page, "err", err)
			s.render(w, r, se, "message", title, title+" is not available right now: "+err.Error())
			return
		}
		s.render(w, r, se, page, title, d)
	})
}

// form is a checked POST form.
type form struct {
	r  *http.Request
	se *session
}

func (f form) v(k string) string { return strings.TrimSpace(f.r.PostFormValue(k)) }

// adminAction registers POST /admin/<action>: admin only, CSRF checked,
// back to /admin/<back> with fn's message or error.
func (s *Server) adminAction(action, back string, fn func(context.Context, form) (string, error)) {
	s.mux.HandleFunc("POST /admin/"+action, func(w http.ResponseWriter, r *http.Request) {
		se := s.requireAdmin(w, r)
		if se == nil || !s.checkPost(w, r, se) {
			return
		}
		to := "/admin/" + back
		if back == "dashboard" {
			to = "/admin"
		}
		if ret := r.PostFormValue("return"); strings.HasPrefix(ret, "/admin/") && !strings.HasPrefix(ret, "//") {
			to = ret
		}
		msg, err := fn(r.Context(), form{r, se})
		if err != nil {
			s.fail(w, r, se, to, "Not done", err)
			return
		}
		s.log.Info("web admin action", "action", action, "admin", se.user)
		s.done(w, r, se, to, msg)
	})
}

func (s *Server) accountDelete(ctx context.Context, f form) (string, error) {
	addr := f.v("address")
	if strings.EqualFold(addr, f.se.user) {
		return "", errors.New("you cannot delete your own account while logged in with it")
	}
	if f.v("confirm") != addr {
		return "", errors.New("type the address again to confirm the deletion")
	}
	err := s.be.DeleteAccount(ctx, addr)
	if err == nil {
		s.sess.endUser(addr, "")
	}
	return "Account " + addr + " and its mail deleted.", err
}

func (s *Server) accountDisable(ctx context.Context, f form) (string, error) {
	addr, off := f.v("address"), f.v("disabled") == "1"
	if off && strings.EqualFold(addr, f.se.user) {
		return "", errors.New("you cannot disable your own account")
	}
	err := s.be.SetDisabled(ctx, addr, off)
	if err == nil && off {
		s.sess.endUser(addr, "")
	}
	if off {
		return addr + " is disabled: it can no longer log in (its mail is kept and still arrives).", err
	}
	return addr + " is enabled again.", err
}

type accountsView struct {
	Accounts []Account
	Domains  []string
}

func (s *Server) accountsData(ctx context.Context, r *http.Request) (any, error) {
	accts, err := s.be.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	doms, err := s.be.Domains(ctx)
	return accountsView{accts, doms}, err
}

type aliasesView struct {
	Aliases []Alias
	Domains []string
}

func (s *Server) aliasesData(ctx context.Context, r *http.Request) (any, error) {
	al, err := s.be.Aliases(ctx)
	if err != nil {
		return nil, err
	}
	doms, err := s.be.Domains(ctx)
	return aliasesView{al, doms}, err
}

type dnsView struct {
	Domains []string
	Report  *DNSReport
}

func (s *Server) dnsData(ctx context.Context, r *http.Request) (any, error) {
	doms, err := s.be.Domains(ctx)
	if err != nil || len(doms) == 0 {
		return dnsView{Domains: doms}, err
	}
	d := r.URL.Query().Get("domain")
	if !slices.Contains(doms, d) {
		d = doms[0]
	}
	rep, err := s.be.DNSRecords(ctx, d)
	return dnsView{doms, rep}, err
}

type logsView struct {
	Service, Filter string
	Services        []string
	Lines           []LogLine
}

func (s *Server) logsData(ctx context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	v := logsView{Service: q.Get("service"), Filter: q.Get("q")}
	// The core's services (the dns and firewall roles keep their own logs).
	v.Services = []string{"smtp", "imap", "pop3", "queue", "mailauth", "web", "ctl"}
	lines := s.be.Logs(v.Service, v.Filter)
	slices.Reverse(lines) // newest first
	v.Lines = lines
	return v, nil
}
