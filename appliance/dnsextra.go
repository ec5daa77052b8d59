package appliance

import (
	"maps"

	"context"
	"encoding/json"
	"errors"
	"facteur/appliance/config"
	"fmt"
	"slices"

	"facteur/resolver/zone"
	"facteur/services/mailstore"
)

// DNSConfig is what an admin adds to a domain's zone by hand: extra
// records (a website's A record, a verification TXT) and secondary name
// servers. It is kept in the store, one blob per domain, and merged into
// the zones the core generates.
type DNSConfig struct {
	// DMARC is the published DMARC policy: none, quarantine (the default)
	// or reject.
	DMARC       string           `json:"dmarc,omitempty"`
	Extra       []string         `json:"extra,omitempty"`
	Secondaries []zone.Secondary `json:"secondaries,omitempty"`
}

// DNSParams are the parameters of the dns.* control methods.
type DNSParams struct {
	Domain    string         `json:"domain"`
	Record    string         `json:"record,omitempty"`
	Secondary zone.Secondary `json:"secondary,omitzero"`
}

func dnsBlob(domain string) string { return "dns/" + mailstore.NormalizeAddress(domain) }

func (c *Core) dnsConfig(ctx context.Context, domain string) (*DNSConfig, error) {
	raw, err := c.store.Blob(ctx, dnsBlob(domain))
	var cfg DNSConfig
	if errors.Is(err, mailstore.ErrNotFound) {
		return &cfg, nil
	}
	if err != nil {
		return nil, err
	}
	return &cfg, json.Unmarshal(raw, &cfg)
}

// changeDNS applies fn to a local domain's DNS configuration, checks the
// resulting zone, saves it and rewrites the zones.
func (c *Core) changeDNS(ctx context.Context, domain string, fn func(*DNSConfig) error) error {
	if ok, err := c.store.IsLocalDomain(ctx, domain); err != nil || !ok {
		return fmt.Errorf("%s is not one of the box's domains", domain)
	}
	cfg, err := c.dnsConfig(ctx, domain)
	if err != nil {
		return err
	}
	if err := fn(cfg); err != nil {
		return err
	}
	snap, err := c.zoneSnapshot(ctx)
	if err != nil {
		return err
	}
	if d := snap.Domain(domain); d != nil {
		d.Extra, d.Secondaries = cfg.Extra, cfg.Secondaries
	}
	if err := snap.Validate(); err != nil {
		return fmt.Errorf("the zone would be invalid: %w", err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := c.store.SetBlob(ctx, dnsBlob(domain), raw); err != nil {
		return err
	}
	return c.writeZones(ctx)
}

func (c *Core) dnsAdd(ctx context.Context, p DNSParams) (any, error) {
	return nil, c.changeDNS(ctx, p.Domain, func(cfg *DNSConfig) error {
		if p.Record != "" && !slices.Contains(cfg.Extra, p.Record) {
			cfg.Extra = append(cfg.Extra, p.Record)
		}
		if p.Secondary.Addr.IsValid() {
			cfg.Secondaries = slices.DeleteFunc(cfg.Secondaries, func(s zone.Secondary) bool { return s.Addr == p.Secondary.Addr })
			cfg.Secondaries = append(cfg.Secondaries, p.Secondary)
		}
		return nil
	})
}

func (c *Core) dnsDel(ctx context.Context, p DNSParams) (any, error) {
	return nil, c.changeDNS(ctx, p.Domain, func(cfg *DNSConfig) error {
		n := len(cfg.Extra) + len(cfg.Secondaries)
		cfg.Extra = slices.DeleteFunc(cfg.Extra, func(r string) bool { return r == p.Record })
		cfg.Secondaries = slices.DeleteFunc(cfg.Secondaries, func(s zone.Secondary) bool { return s.Addr == p.Secondary.Addr })
		if len(cfg.Extra)+len(cfg.Secondaries) == n {
			return fmt.Errorf("no such record or secondary in %s", p.Domain)
		}
		return nil
	})
}

// LANParams are the parameters of dns.forwarders and dns.host.
type LANParams struct {
	Forwarders []string `json:"forwarders,omitempty"`
	Name       string   `json:"name,omitempty"`
	Addrs      []string `json:"addrs,omitempty"` // none: remove the host
}

// changeSettings applies fn to a copy of the settings, validates, saves
// them and rewrites the DNS snapshot.
func (c *Core) changeSettings(ctx context.Context, fn func(*config.Settings)) error {
	s := c.Settings()
	fn(s)
	if err := s.Validate(); err != nil {
		return err
	}
	if err := c.saveSettings(ctx, s); err != nil {
		return err
	}
	return c.writeZones(ctx)
}

func (c *Core) dnsForwarders(ctx context.Context, p LANParams) (any, error) {
	return nil, c.changeSettings(ctx, func(s *config.Settings) { s.DNSForwarders = p.Forwarders })
}

func (c *Core) dnsHost(ctx context.Context, p LANParams) (any, error) {
	return nil, c.changeSettings(ctx, func(s *config.Settings) {
		hosts := maps.Clone(s.LANHosts)
		if hosts == nil {
			hosts = map[string][]string{}
		}
		if len(p.Addrs) == 0 {
			delete(hosts, p.Name)
		} else {
			hosts[p.Name] = p.Addrs
		}
		s.LANHosts = hosts
	})
}
