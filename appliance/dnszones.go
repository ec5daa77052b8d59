package appliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"facteur/resolver/zone"
)

// ZonesPath is where the core writes the DNS snapshot that the dns role
// serves, for a data directory.
func ZonesPath(dataDir string) string { return filepath.Join(dataDir, "dns", "zones.json") }

// writeZones derives the DNS snapshot from the settings, the domains and
// the certificate, and writes it atomically if it changed. Serials move
// only for domains whose records changed.
func (c *Core) writeZones(ctx context.Context) error {
	snap, err := c.zoneSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("dns snapshot: %w", err)
	}
	path := ZonesPath(c.opts.DataDir)
	prev, err := zone.Load(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("previous dns snapshot unreadable; serials restart", "err", err)
	}
	snap.AssignSerials(prev, time.Now())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return zone.WriteFile(path, snap)
}

func (c *Core) zoneSnapshot(ctx context.Context) (*zone.Snapshot, error) {
	s := c.Settings()
	domains, err := c.store.Domains(ctx)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, ip := range s.PublicIPs {
		if a, err := netip.ParseAddr(ip); err == nil {
			addrs = append(addrs, a)
		}
	}
	// The networks the box is plugged into are its LAN too.
	snap := &zone.Snapshot{LANConnected: true}
	for _, p := range s.LANPrefixes {
		if pr, err := netip.ParsePrefix(p); err == nil {
			snap.LAN = append(snap.LAN, pr)
		}
	}
	snap.Forwarders = s.DNSForwarders
	for name, list := range s.LANHosts {
		h := zone.LANHost{Name: name}
		for _, a := range list {
			if ip, err := netip.ParseAddr(a); err == nil {
				h.Addrs = append(h.Addrs, ip)
			}
		}
		snap.LANHosts = append(snap.LANHosts, h)
	}
	slices.SortFunc(snap.LANHosts, func(a, b zone.LANHost) int { return strings.Compare(a.Name, b.Name) })
	tlsa := c.tlsaDigest()
	for _, d := range domains {
		cfg, err := c.dnsConfig(ctx, d.Name)
		if err != nil {
			return nil, err
		}
		dkim, err := c.dkimRecords(ctx, d.Name)
		if err != nil {
			return nil, err
		}
		dmarc := cfg.DMARC
		if dmarc == "" {
			dmarc = "quarantine"
		}
		snap.Domains = append(snap.Domains, zone.Domain{
			Extra: cfg.Extra, Secondaries: cfg.Secondaries, DKIM: dkim,
			Name: d.Name, Host: s.Hostname, Addrs: addrs,
			DMARC:  zone.DMARC{Policy: dmarc, RUA: "postmaster@" + d.Name},
			TLSRPT: "postmaster@" + d.Name,
			TLSA:   tlsa,
			// Only the CA the box's ACME client will use may issue for the
			// domain. (No MTA-STS records until the box serves the policy.)
			CAA: []string{"letsencrypt.org"},
		})
	}
	return snap, nil
}

// tlsaDigest is the SHA-256 of the current certificate's public key, for
// a TLSA 3 1 1 record.
func (c *Core) tlsaDigest() []string {
	cert := c.certs.cur.Load()
	if cert == nil || cert.Leaf == nil {
		return nil
	}
	sum := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	return []string{hex.EncodeToString(sum[:])}
}
