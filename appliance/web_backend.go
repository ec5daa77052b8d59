package appliance

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"facteur/appliance/config"
	"facteur/firewall"
	"facteur/webui"
)

// webBackend is webui.Backend over the core. Changes go through the same
// control methods as the CLI (Core.call) or the same Core functions
// (Setup, QueueRetry...).
type webBackend struct{ c *Core }

var _ webui.Backend = (*webBackend)(nil)

func (b *webBackend) SetupDone() bool { return b.c.Settings().SetupDone }

func (b *webBackend) CheckSetupToken(tok string) bool {
	return !b.SetupDone() && b.c.web.checkToken(tok)
}

func (b *webBackend) Setup(ctx context.Context, r webui.SetupRequest) error {
	n := config.Network(r.Network)
	err := b.c.Setup(ctx, SetupParams{
		Hostname: r.Hostname, Domain: r.Domain, Admin: r.Admin, Password: r.Password,
		PublicIPs: r.PublicIPs, LAN: b.c.Settings().LANPrefixes,
		Network: &n, TimeZone: r.TimeZone, DNSMode: r.DNSMode,
	})
	if err == nil {
		b.c.web.killToken()
	}
	return err
}

func (b *webBackend) InstallCertificate(ctx context.Context, certPEM, keyPEM []byte) error {
	if err := b.c.certs.install(ctx, b.c.store, b.c.Settings().Hostname, certPEM, keyPEM); err != nil {
		return err
	}
	return b.c.writeZones(ctx) // the TLSA record follows the key
}

func (b *webBackend) Authenticate(ctx context.Context, user, password string) (webui.Account, error) {
	a, err := b.c.store.Authenticate(ctx, user, password)
	if err != nil {
		return webui.Account{}, err
	}
	return webui.Account{Address: a.Address, Admin: a.Admin}, nil
}

func (b *webBackend) AuthFailed(remote net.Addr, user string) { b.c.auth.hook("http")(remote, user) }

func (b *webBackend) Accounts(ctx context.Context) ([]webui.Account, error) {
	list, err := b.c.userList(ctx)
	var out []webui.Account
	for _, u := range list {
		out = append(out, webui.Account(u))
	}
	return out, err
}

func (b *webBackend) Account(ctx context.Context, addr string) (webui.Account, error) {
	a, err := b.c.store.Account(ctx, addr)
	if err != nil {
		return webui.Account{}, err
	}
	used, err := b.c.store.Usage(ctx, a.ID)
	return webui.Account{Address: a.Address, Admin: a.Admin, Disabled: a.Disabled, Quota: a.QuotaBytes, Used: used}, err
}

func (b *webBackend) AddAccount(ctx context.Context, addr, pw string) error {
	return b.c.call(ctx, "user.add", UserParams{Address: addr, Password: pw})
}

func (b *webBackend) DeleteAccount(ctx context.Context, addr string) error {
	return b.c.call(ctx, "user.del", UserParams{Address: addr})
}

func (b *webBackend) SetPassword(ctx context.Context, addr, pw string) error {
	return b.c.call(ctx, "user.passwd", UserParams{Address: addr, Password: pw})
}

func (b *webBackend) SetQuota(ctx context.Context, addr string, n int64) error {
	return b.c.call(ctx, "user.quota", UserParams{Address: addr, Quota: n})
}

// SetDisabled is `facteur user disable|enable`.
func (b *webBackend) SetDisabled(ctx context.Context, addr string, off bool) error {
	return b.c.setDisabled(ctx, addr, off)
}

func (b *webBackend) Aliases(ctx context.Context) ([]webui.Alias, error) {
	list, err := b.c.store.Aliases(ctx)
	var out []webui.Alias
	for _, a := range list {
		out = append(out, webui.Alias(a))
	}
	return out, err
}

func (b *webBackend) AddAlias(ctx context.Context, addr string, targets []string) error {
	return b.c.call(ctx, "alias.add", AliasParams{Address: addr, Targets: targets})
}

func (b *webBackend) DeleteAlias(ctx context.Context, addr string) error {
	return b.c.call(ctx, "alias.del", AliasParams{Address: addr})
}

func (b *webBackend) Domains(ctx context.Context) ([]string, error) { return b.c.domainNames(ctx) }

func (b *webBackend) AddDomain(ctx context.Context, name string) error {
	return b.c.call(ctx, "domain.add", NameParams{Name: name})
}

func (b *webBackend) DeleteDomain(ctx context.Context, name string) error {
	return b.c.call(ctx, "domain.del", NameParams{Name: name})
}

func (b *webBackend) Queue(ctx context.Context) ([]webui.QueueEntry, error) {
	list, err := b.c.QueueList(ctx)
	var out []webui.QueueEntry
	for _, e := range list {
		out = append(out, webui.QueueEntry{ID: e.ID, From: e.From, To: e.To, Size: e.Size, Created: e.Created,
			NextAttempt: e.NextAttempt, Attempts: e.Attempts, LastError: e.LastError})
	}
	return out, err
}

func (b *webBackend) QueueRetry(ctx context.Context, id uint64) error {
	return plainError(b.c.QueueRetry(ctx, id))
}

func (b *webBackend) QueueDrop(ctx context.Context, id uint64) error {
	return plainError(b.c.QueueDrop(ctx, id))
}

// Firewall asks the firewall role, as `facteur firewall bans|counters` does.
func (b *webBackend) Firewall(ctx context.Context) (*webui.FirewallInfo, error) {
	sock := FirewallSocket(b.c.opts.DataDir)
	bans, err := firewall.Call(sock, firewall.Request{Type: "bans"})
	if err != nil {
		return nil, errors.New("the firewall role does not answer")
	}
	info := &webui.FirewallInfo{}
	for _, x := range bans.Bans {
		info.Bans = append(info.Bans, webui.Ban{IP: x.IP.String(), Remaining: time.Duration(x.Remaining)})
	}
	if cs, err := firewall.Call(sock, firewall.Request{Type: "counters"}); err == nil {
		for name, v := range cs.Counters {
			info.Counters = append(info.Counters, webui.Counter{Name: name, Packets: v.Packets, Bytes: v.Bytes})
		}
	}
	return info, nil
}

func (b *webBackend) Unban(ctx context.Context, ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return errors.New("not an IP address")
	}
	_, err = firewall.Call(FirewallSocket(b.c.opts.DataDir), firewall.Request{Type: "unban", IP: a})
	return err
}

func (b *webBackend) Logs(service, filter string) []webui.LogLine {
	loc := settingsTZ(b.c.Settings())
	var out []webui.LogLine
	for _, l := range b.c.web.logs.recent(service, filter) {
		out = append(out, webui.LogLine{Time: l.Time.In(loc), Level: l.Level.String(), Service: l.Service, Text: l.Text})
	}
	return out
}

func (b *webBackend) Client() webui.ClientSettings {
	c := b.c
	return webui.ClientSettings{
		Hostname: c.Settings().Hostname,
		IMAPS:    portOf(c.Addr("imaps")), IMAP: portOf(c.Addr("imap")),
		Submissions: portOf(c.Addr("submissions")), Submission: portOf(c.Addr("submission")),
		POP3S: portOf(c.Addr("pop3s")),
	}
}
