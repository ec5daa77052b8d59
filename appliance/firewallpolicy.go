package appliance

import (
	"context"

	"net"
	"net/netip"
	"os"
	"path/filepath"

	"facteur/appliance/config"

	"facteur/firewall"
)

// FirewallPolicyPath is where the core writes the policy the firewall
// role applies; FirewallSocket is where that role takes events and
// admin requests.
func FirewallPolicyPath(dataDir string) string {
	return filepath.Join(dataDir, "firewall", "policy.json")
}

// FirewallSocket is the firewall role's unix socket.
func FirewallSocket(dataDir string) string { return filepath.Join(dataDir, "firewall.sock") }

// FirewallStatePath is the file the firewall role keeps its bans in.
func FirewallStatePath(dataDir string) string {
	return filepath.Join(dataDir, "firewall", "state.json")
}

// writeFirewallPolicy derives the firewall policy from the settings: the
// mail services this core runs, DNS (authoritative for everyone,
// recursive for the LAN), the web UI for the LAN: the prefixes of the
// settings and the networks the box is on.
func (c *Core) writeFirewallPolicy() error {
	s := c.Settings()
	p := firewall.Policy{Services: firewall.Services{
		SMTP: true, Submission: true, Submissions: true, IMAP: true, IMAPS: true, POP3: true, POP3S: true,
		DNSAuth: true, DNSRecursive: true, Web: true,
	},
		// The networks the box is plugged into are the office: the web UI
		// and recursive DNS must answer there from the first boot on.
		LANConnected: true,
	}
	for _, l := range s.LANPrefixes {
		if pr, err := netip.ParsePrefix(l); err == nil {
			p.LAN = append(p.LAN, pr)
		}
	}
	for _, a := range s.AdminAllowList {
		if pr, err := netip.ParsePrefix(a); err == nil {
			p.AllowList = append(p.AllowList, pr)
		}
	}
	path := FirewallPolicyPath(c.opts.DataDir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return firewall.WritePolicy(path, p)
}

// reportAuthFailure tells the firewall role about a failed login, without
// waiting: a firewall role that is down must not hold up mail.
func (c *Core) reportAuthFailure(proto string, remote net.Addr, user string) {
	ap, err := netip.ParseAddrPort(remote.String())
	if err != nil {
		return
	}
	go func() {
		ev := firewall.Event{Type: firewall.EventAuthFailure, IP: ap.Addr().Unmap(), Proto: proto, User: user}
		if err := firewall.Report(FirewallSocket(c.opts.DataDir), ev); err != nil {
			c.log.Debug("firewall not told", "err", err)
		}
	}()
}

// AllowParams are the parameters of firewall.allow.
type AllowParams struct {
	Prefixes []string `json:"prefixes"`
}

// firewallAllow replaces the admin allow-list and writes the new policy.
func (c *Core) firewallAllow(ctx context.Context, p AllowParams) (any, error) {
	if err := c.changeSettings(ctx, func(s *config.Settings) { s.AdminAllowList = p.Prefixes }); err != nil {
		return nil, err
	}
	return nil, c.writeFirewallPolicy()
}
