package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"facteur/appliance/config"
	"facteur/appliance/ctl"
	"facteur/services/mailstore"
)

// Version is the program's version, set at build time with
// -ldflags "-X facteur/appliance.Version=...".
var Version = "dev"

// Params of the control methods; the CLI sends these.
type (
	SetupParams struct {
		Hostname  string   `json:"hostname"`
		Domain    string   `json:"domain"`
		Admin     string   `json:"admin"`
		Password  string   `json:"password"`
		PublicIPs []string `json:"public_ips,omitempty"`
		LAN       []string `json:"lan,omitempty"`
		// Set by the web wizard; the CLI leaves them empty.
		Network  *config.Network `json:"network,omitempty"`
		TimeZone string          `json:"time_zone,omitempty"`
		DNSMode  string          `json:"dns_mode,omitempty"`
	}
	NameParams struct {
		Name string `json:"name"`
	}
	UserParams struct {
		Address  string `json:"address"`
		Password string `json:"password,omitempty"`
		Quota    int64  `json:"quota,omitempty"`
		// SendAs replaces the account's extra sender addresses (user.sendas).
		SendAs []string `json:"send_as,omitempty"`
	}
	AliasParams struct {
		Address string   `json:"address"`
		Targets []string `json:"targets,omitempty"`
	}
	// UserInfo is what user.list returns per account.
	UserInfo struct {
		Address  string `json:"address"`
		Admin    bool   `json:"admin,omitempty"`
		Disabled bool   `json:"disabled,omitempty"`
		Quota    int64  `json:"quota"`
		Used     int64  `json:"used"`
	}
	// Status is what status returns.
	Status struct {
		Version     string         `json:"version"`
		Hostname    string         `json:"hostname"`
		SetupDone   bool           `json:"setup_done"`
		Uptime      string         `json:"uptime"`
		QueueLength int            `json:"queue_length"`
		AuthFailed  map[string]int `json:"auth_failed"`
	}
)

func (c *Core) methods() map[string]ctl.Handler {
	return map[string]ctl.Handler{
		"setup": withParams(c.setup),
		"domain.add": withParams(func(ctx context.Context, p NameParams) (any, error) {
			return nil, c.zonesAfter(ctx, c.store.AddDomain(ctx, p.Name))
		}),
		"domain.del": withParams(func(ctx context.Context, p NameParams) (any, error) {
			return nil, c.zonesAfter(ctx, c.store.DeleteDomain(ctx, p.Name))
		}),
		"domain.list": func(ctx context.Context, _ json.RawMessage) (any, error) { return c.domainNames(ctx) },
		"user.add":    withParams(c.userAdd),
		"user.del": withParams(func(ctx context.Context, p UserParams) (any, error) {
			return nil, c.store.DeleteAccount(ctx, p.Address)
		}),
		"user.passwd": withParams(func(ctx context.Context, p UserParams) (any, error) {
			return nil, c.store.SetPassword(ctx, p.Address, p.Password)
		}),
		"user.quota": withParams(c.userQuota),
		"user.disable": withParams(func(ctx context.Context, p UserParams) (any, error) {
			return nil, c.setDisabled(ctx, p.Address, true)
		}),
		"user.enable": withParams(func(ctx context.Context, p UserParams) (any, error) {
			return nil, c.setDisabled(ctx, p.Address, false)
		}),
		"user.sendas": withParams(func(ctx context.Context, p UserParams) (any, error) {
			return nil, c.store.UpdateAccount(ctx, p.Address, func(a *mailstore.Account) error {
				a.SendAs = p.SendAs
				return nil
			})
		}),
		"user.list": func(ctx context.Context, _ json.RawMessage) (any, error) { return c.userList(ctx) },
		"alias.add": withParams(func(ctx context.Context, p AliasParams) (any, error) {
			return nil, c.store.AddAlias(ctx, p.Address, p.Targets)
		}),
		"alias.del":   withParams(func(ctx context.Context, p AliasParams) (any, error) { return nil, c.store.DeleteAlias(ctx, p.Address) }),
		"alias.list":  func(ctx context.Context, _ json.RawMessage) (any, error) { return c.store.Aliases(ctx) },
		"queue.list":  func(ctx context.Context, _ json.RawMessage) (any, error) { return c.store.Queue(ctx) },
		"queue.retry": withParams(c.queueRetry),
		"queue.drop":  withParams(c.queueDrop),
		"queue.lifetime": withParams(func(ctx context.Context, p LifetimeParams) (any, error) {
			return nil, c.SetQueueLifetime(ctx, p.Days)
		}),
		"smarthost.set": withParams(func(ctx context.Context, h config.Smarthost) (any, error) {
			return nil, c.SetSmarthost(ctx, &h)
		}),
		"smarthost.clear": func(ctx context.Context, _ json.RawMessage) (any, error) { return nil, c.SetSmarthost(ctx, nil) },
		"dns.dmarc":       withParams(c.dnsDMARC),
		"status":          func(ctx context.Context, _ json.RawMessage) (any, error) { return c.status(ctx) },
		"dns.add":         withParams(c.dnsAdd),
		"dns.forwarders":  withParams(c.dnsForwarders),
		"firewall.allow":  withParams(c.firewallAllow),
		"dns.host":        withParams(c.dnsHost),
		"dns.del":         withParams(c.dnsDel),
	}
}

// withParams decodes a method's parameters into P.
func withParams[P any](fn func(context.Context, P) (any, error)) ctl.Handler {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var p P
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("bad parameters: %w", err)
			}
		}
		res, err := fn(ctx, p)
		return res, plainError(err)
	}
}

// plainError turns store errors into sentences for the admin.
func plainError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mailstore.ErrNotFound):
		return fmt.Errorf("not found: %v", err)
	case errors.Is(err, mailstore.ErrExists):
		return fmt.Errorf("already exists: %v", err)
	}
	return err
}

// Setup configures the box: hostname, first domain, admin account. The web
// wizard calls the same function.
func (c *Core) Setup(ctx context.Context, p SetupParams) error {
	s := c.Settings()
	s.Hostname = strings.ToLower(strings.TrimSuffix(p.Hostname, "."))
	if s.Hostname == "" && p.Domain != "" {
		s.Hostname = "mail." + p.Domain
	}
	s.PublicIPs, s.LANPrefixes = p.PublicIPs, p.LAN
	s.Network, s.TimeZone, s.DNSMode = p.Network, p.TimeZone, p.DNSMode
	if err := s.Validate(); err != nil {
		return err
	}
	if !strings.HasSuffix(mailstore.NormalizeAddress(p.Admin), "@"+mailstore.NormalizeAddress(p.Domain)) {
		return fmt.Errorf("the admin address %q must be in the domain %q", p.Admin, p.Domain)
	}
	if err := c.store.AddDomain(ctx, p.Domain); err != nil && !errors.Is(err, mailstore.ErrExists) {
		return err
	}
	_, err := c.store.AddAccount(ctx, p.Admin, p.Password)
	if errors.Is(err, mailstore.ErrExists) {
		err = c.store.SetPassword(ctx, p.Admin, p.Password)
	}
	if err != nil {
		return err
	}
	if err := c.store.UpdateAccount(ctx, p.Admin, func(a *mailstore.Account) error { a.Admin = true; return nil }); err != nil {
		return err
	}
	s.SetupDone = true
	if err := c.saveSettings(ctx, s); err != nil {
		return err
	}
	if err := c.certs.loadOrCreate(ctx, c.store, s.Hostname); err != nil {
		return err
	}
	if err := c.writeZones(ctx); err != nil {
		return err
	}
	if err := c.writeFirewallPolicy(); err != nil {
		return err
	}
	select {
	case c.reload <- struct{}{}:
	default:
	}
	return nil
}

func (c *Core) setup(ctx context.Context, p SetupParams) (any, error) { return nil, c.Setup(ctx, p) }

// zonesAfter rewrites the DNS snapshot after a change that succeeded.
func (c *Core) zonesAfter(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	return c.writeZones(ctx)
}

func (c *Core) saveSettings(ctx context.Context, s *config.Settings) error {
	raw, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := c.store.SetBlob(ctx, blobSettings, raw); err != nil {
		return err
	}
	c.mu.Lock()
	c.settings = s
	c.mu.Unlock()
	return nil
}

func (c *Core) domainNames(ctx context.Context) ([]string, error) {
	ds, err := c.store.Domains(ctx)
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names, err
}

func (c *Core) userAdd(ctx context.Context, p UserParams) (any, error) {
	_, err := c.store.AddAccount(ctx, p.Address, p.Password)
	return nil, err
}

func (c *Core) userQuota(ctx context.Context, p UserParams) (any, error) {
	if p.Quota < 0 {
		return nil, fmt.Errorf("quota must be 0 (none) or a size in bytes")
	}
	return nil, c.store.UpdateAccount(ctx, p.Address, func(a *mailstore.Account) error { a.QuotaBytes = p.Quota; return nil })
}

func (c *Core) userList(ctx context.Context) ([]UserInfo, error) {
	accts, err := c.store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := []UserInfo{}
	for _, a := range accts {
		used, err := c.store.Usage(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, UserInfo{Address: a.Address, Admin: a.Admin, Disabled: a.Disabled, Quota: a.QuotaBytes, Used: used})
	}
	return out, nil
}

func (c *Core) status(ctx context.Context) (*Status, error) {
	n, err := c.store.QueueLen(ctx)
	if err != nil {
		return nil, err
	}
	s := c.Settings()
	return &Status{
		Version: Version, Hostname: s.Hostname, SetupDone: s.SetupDone,
		Uptime: time.Since(c.started).Round(time.Second).String(), QueueLength: n, AuthFailed: c.auth.snapshot(),
	}, nil
}

// setDisabled disables or enables an account: a disabled account cannot
// log in (any protocol, web included); its mail is kept and delivered.
func (c *Core) setDisabled(ctx context.Context, addr string, off bool) error {
	return plainError(c.store.UpdateAccount(ctx, addr, func(a *mailstore.Account) error { a.Disabled = off; return nil }))
}
