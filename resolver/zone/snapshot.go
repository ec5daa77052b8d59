// Package zone owns the DNS data that the core publishes for the dns role: a
// Snapshot of every mail domain's settings, written by the core as one JSON
// file (temp file + rename) and read by the dns role, and the zone generated
// from each domain.
//
// The generated zone holds, for a domain D with mail host H:
//
//	D                 SOA, NS, MX, TXT (SPF), CAA
//	H (if under D)    A/AAAA, TXT (SPF for HELO), _25._tcp.H TLSA 3 1 1
//	S._domainkey.D    TXT (DKIM, one per active selector, split in 255-byte strings)
//	_dmarc.D          TXT (DMARC with rua to a local address)
//	_mta-sts.D        TXT (MTA-STS id, RFC 8461) and mta-sts.D A/AAAA
//	_smtp._tls.D      TXT (TLS-RPT, RFC 8460)
//	_submission(s), _imap(s), _pop3s, _autodiscover ._tcp.D   SRV (RFC 6186, RFC 8314)
//	autoconfig.D, autodiscover.D   A/AAAA
//
// plus the extra records an admin added by hand. Zones are wildcard-free and
// delegation-free: extra records with a '*' label, NS records below the apex,
// SOA, DNAME and DNSSEC records are refused by Validate and skipped by
// Generate.
//
// Standards: RFC 1035 (zone-file syntax, TXT strings of at most 255 bytes),
// RFC 7208 (SPF), RFC 6376 (DKIM), RFC 7489 (DMARC), RFC 8461 (MTA-STS),
// RFC 8460 (TLS-RPT), RFC 6186 and RFC 8314 (SRV for mail clients), RFC 8659
// (CAA), RFC 6698 and RFC 7672 (TLSA "3 1 1" for SMTP), RFC 1912 and RFC 2308
// (SOA timers and negative TTL).
//
// Serial numbers: the core owns them. Each domain's Serial is a date-based
// YYYYMMDDnn number (RFC 1912 section 2.2) that AssignSerials sets when the
// core writes a new snapshot: a domain whose generated content did not change
// keeps its serial, any other gets NextSerial(old). The dns role never changes
// a serial; it only notices that it changed (and sends NOTIFY).
package zone

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"
)

// Snapshot is everything the dns role needs, as the core writes it.
type Snapshot struct {
	// Domains are the mail domains the box is authoritative for.
	Domains []Domain `json:"domains"`
	// LAN lists the prefixes allowed to use the recursive resolver
	// (loopback is always allowed by the dns role).
	LAN []netip.Prefix `json:"lan,omitempty"`
	// LANConnected adds the private networks the box's interfaces are on
	// to LAN (internal/netif), kept up to date by the dns role.
	LANConnected bool `json:"lan_connected,omitempty"`
	// LANHosts are static names answered to LAN clients (A/AAAA and PTR).
	LANHosts []LANHost `json:"lan_hosts,omitempty"`
	// Forwarders, when set, switch the recursive side to forwarding mode:
	// "192.0.2.1", "192.0.2.1:53" or "[2001:db8::1]:53".
	Forwarders []string `json:"forwarders,omitempty"`
}

// Domain is one mail domain and what its zone publishes.
type Domain struct {
	// Name is the zone apex, e.g. "example.com".
	Name string `json:"name"`
	// Serial is the SOA serial, YYYYMMDDnn, set by AssignSerials.
	Serial uint32 `json:"serial"`
	// Host is the box's mail host name (MX target, SRV target), e.g.
	// "mail.example.com". Its A/AAAA records are published when it lies
	// inside this zone.
	Host string `json:"host"`
	// Addrs are the box's public addresses (A and AAAA of Host, mta-sts,
	// autoconfig, autodiscover).
	Addrs []netip.Addr `json:"addrs,omitempty"`
	// MX is the MX target; Host when empty.
	MX string `json:"mx,omitempty"`
	// Admin is the SOA contact address; hostmaster@Name when empty.
	Admin string `json:"admin,omitempty"`
	// TTL of every generated record; DefaultTTL when zero.
	TTL uint32 `json:"ttl,omitempty"`
	// NS are the zone's name servers; Host (with Addrs) when empty. Addresses
	// of names inside the zone are published as glue.
	NS []NameServer `json:"ns,omitempty"`
	// SPF is the domain's SPF policy; DefaultSPF when empty.
	SPF string `json:"spf,omitempty"`
	// DKIM lists the active selectors with their public-key TXT values.
	DKIM []DKIMKey `json:"dkim,omitempty"`
	// DMARC is the domain's DMARC policy.
	DMARC DMARC `json:"dmarc"`
	// MTASTSID is the MTA-STS policy id; no MTA-STS records when empty.
	MTASTSID string `json:"mta_sts_id,omitempty"`
	// TLSRPT is the address TLS reports go to; no TLS-RPT record when empty.
	TLSRPT string `json:"tls_rpt,omitempty"`
	// TLSA are the hex SHA-256 digests of the certificate's
	// SubjectPublicKeyInfo (current and, during a rollover, next), published
	// as "_25._tcp.Host TLSA 3 1 1" when Host is inside the zone.
	TLSA []string `json:"tlsa,omitempty"`
	// CAA lists the certificate authorities allowed to issue ("letsencrypt.org").
	CAA []string `json:"caa,omitempty"`
	// Secondaries may transfer the zone (AXFR) and are sent NOTIFY.
	Secondaries []Secondary `json:"secondaries,omitempty"`
	// Extra are records added by hand, in zone-file syntax relative to the
	// apex ("www 300 IN A 192.0.2.10", "@ TXT \"google-site-verification=...\"").
	Extra []string `json:"extra,omitempty"`
}

// NameServer is an NS target and, for names inside the zone, its glue.
type NameServer struct {
	Name  string       `json:"name"`
	Addrs []netip.Addr `json:"addrs,omitempty"`
}

// DKIMKey is an active DKIM selector.
type DKIMKey struct {
	Selector string `json:"selector"`
	// Value is the whole TXT value, e.g. "v=DKIM1; k=ed25519; p=...".
	Value string `json:"value"`
}

// DMARC is a domain's DMARC policy.
type DMARC struct {
	// Policy is none, quarantine or reject; DefaultDMARCPolicy when empty.
	Policy string `json:"policy,omitempty"`
	// RUA is the (local) address aggregate reports go to; none when empty.
	RUA string `json:"rua,omitempty"`
}

// Secondary is a secondary name server of a zone.
type Secondary struct {
	// Addr is the secondary's address: AXFR is allowed from it and NOTIFY
	// is sent to it.
	Addr netip.Addr `json:"addr"`
	// Port receives NOTIFY; 53 when zero.
	Port uint16 `json:"port,omitempty"`
	// TSIGKey is the TSIG key name. When set, AXFR needs a valid TSIG with
	// this key and NOTIFY is signed with it. When empty, the address alone
	// authorises AXFR.
	TSIGKey string `json:"tsig_key,omitempty"`
	// TSIGSecret is the key's base64 secret.
	TSIGSecret string `json:"tsig_secret,omitempty"`
	// TSIGAlgorithm is an HMAC algorithm name; hmac-sha256 when empty.
	TSIGAlgorithm string `json:"tsig_algorithm,omitempty"`
}

// LANHost is a static LAN name.
type LANHost struct {
	Name  string       `json:"name"`
	Addrs []netip.Addr `json:"addrs"`
}

// Defaults used when a Domain field is empty.
const (
	DefaultTTL         = 3600
	DefaultSPF         = "v=spf1 mx -all"
	DefaultDMARCPolicy = "quarantine"
	// NegativeTTL is the SOA minimum: how long resolvers cache NXDOMAIN and
	// NODATA answers (RFC 2308).
	NegativeTTL = 300
)

// Domain returns the domain whose apex is name (any case, with or without
// the final dot), or nil.
func (s *Snapshot) Domain(name string) *Domain {
	if s == nil {
		return nil
	}
	want := dns.CanonicalName(name)
	for i := range s.Domains {
		if dns.CanonicalName(s.Domains[i].Name) == want {
			return &s.Domains[i]
		}
	}
	return nil
}

// Load reads a snapshot file. Unknown fields are ignored, so an older dns
// role can read what a newer core wrote.
func Load(path string) (*Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dns snapshot: %w", err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse dns snapshot %s: %w", path, err)
	}
	return &s, nil
}

// WriteFile writes the snapshot atomically: a temporary file in the same
// directory, synced, then renamed over path.
func WriteFile(path string, s *Snapshot) error {
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return fmt.Errorf("encode dns snapshot: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".dns-snapshot-*")
	if err != nil {
		return fmt.Errorf("write dns snapshot: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write dns snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write dns snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Validate reports every problem of the snapshot. The dns role still serves
// a snapshot with problems: it skips what it cannot use.
func (s *Snapshot) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i := range s.Domains {
		d := &s.Domains[i]
		apex := dns.CanonicalName(d.Name)
		if seen[apex] {
			errs = append(errs, fmt.Errorf("domain %s: listed twice", d.Name))
		}
		seen[apex] = true
		if err := d.validate(); err != nil {
			errs = append(errs, fmt.Errorf("domain %s: %w", d.Name, err))
		}
	}
	for _, h := range s.LANHosts {
		if !validName(h.Name) {
			errs = append(errs, fmt.Errorf("lan host %q: bad name", h.Name))
		}
	}
	for _, f := range s.Forwarders {
		if _, err := ParseServer(f, 53); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Domain) validate() error {
	var errs []error
	if !validName(d.Name) || dns.CanonicalName(d.Name) == "." {
		errs = append(errs, errors.New("bad domain name"))
	}
	if !validName(d.Host) {
		errs = append(errs, fmt.Errorf("bad host name %q", d.Host))
	}
	if d.MX != "" && !validName(d.MX) {
		errs = append(errs, fmt.Errorf("bad mx name %q", d.MX))
	}
	for _, ns := range d.NS {
		if !validName(ns.Name) {
			errs = append(errs, fmt.Errorf("bad ns name %q", ns.Name))
		}
	}
	for _, k := range d.DKIM {
		if _, ok := dns.IsDomainName(k.Selector); !ok || strings.ContainsAny(k.Selector, " *") {
			errs = append(errs, fmt.Errorf("bad dkim selector %q", k.Selector))
		}
	}
	for _, h := range d.TLSA {
		if len(h) != 64 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
			errs = append(errs, fmt.Errorf("bad tlsa digest %q: want 64 hex digits", h))
		}
	}
	for _, sec := range d.Secondaries {
		if err := sec.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	_, err := d.records()
	errs = append(errs, err)
	return errors.Join(errs...)
}

func (s Secondary) validate() error {
	if !s.Addr.IsValid() {
		return errors.New("secondary without address")
	}
	if s.TSIGKey == "" {
		return nil
	}
	if _, ok := dns.IsDomainName(s.TSIGKey); !ok {
		return fmt.Errorf("secondary %s: bad tsig key name %q", s.Addr, s.TSIGKey)
	}
	if _, err := decodeBase64(s.TSIGSecret); err != nil || s.TSIGSecret == "" {
		return fmt.Errorf("secondary %s: tsig secret is not base64", s.Addr)
	}
	if !validAlgorithm(s.Algorithm()) {
		return fmt.Errorf("secondary %s: unknown tsig algorithm %q", s.Addr, s.TSIGAlgorithm)
	}
	return nil
}

// Algorithm returns the TSIG algorithm, as a canonical name.
func (s Secondary) Algorithm() string {
	if s.TSIGAlgorithm == "" {
		return dns.HmacSHA256
	}
	return dns.CanonicalName(s.TSIGAlgorithm)
}

// validAlgorithm reports whether name is a TSIG algorithm the server
// implements (RFC 8945 section 6).
func validAlgorithm(name string) bool {
	switch dns.CanonicalName(name) {
	case dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512:
		return true
	}
	return false
}

// NotifyAddr is where NOTIFY goes.
func (s Secondary) NotifyAddr() netip.AddrPort {
	port := s.Port
	if port == 0 {
		port = 53
	}
	return netip.AddrPortFrom(s.Addr, port)
}

// ParseServer parses "ip" or "ip:port" ("[v6]:port"), with defaultPort when
// no port is given.
func ParseServer(s string, defaultPort uint16) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, defaultPort), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad server address %q", s)
	}
	return ap, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	_, ok := dns.IsDomainName(s)
	return ok && !strings.ContainsAny(s, " *")
}
