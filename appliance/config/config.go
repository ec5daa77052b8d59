// Package config defines the appliance's settings: their schema, defaults
// and validation. Settings are plain JSON kept in the mail store; only the
// appliance package reads them and hands each service its own Options.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Version is the settings schema version written into Settings.Version.
const Version = 1

// Settings is everything an admin chooses for the box. The zero value
// (after Defaults) describes a box that is not set up yet.
type Settings struct {
	Version int `json:"version"`
	// Hostname is the box's mail hostname (MX target, EHLO, certificate).
	Hostname string `json:"hostname"`
	// PublicIPs are the addresses published in DNS.
	PublicIPs []string `json:"public_ips,omitempty"`
	// LANPrefixes may use recursive DNS and reach the web UI.
	LANPrefixes []string `json:"lan_prefixes,omitempty"`
	// AdminAllowList are prefixes outside the LAN (an admin's home, a
	// support company) that may reach the web UI and ManageSieve and are
	// never banned.
	AdminAllowList []string `json:"admin_allow_list,omitempty"`
	// DNSForwarders, when set, make the LAN resolver forward to these
	// resolvers (the ISP's or the company's) instead of resolving from
	// the root: "192.0.2.1" or "192.0.2.1:53".
	DNSForwarders []string `json:"dns_forwarders,omitempty"`
	// LANHosts are static names the box's DNS answers to the LAN:
	// name -> addresses.
	LANHosts map[string][]string `json:"lan_hosts,omitempty"`
	// MaxMessageBytes limits SMTP and APPEND; default 50 MiB.
	MaxMessageBytes int64 `json:"max_message_bytes,omitempty"`
	// SetupDone is set by a completed setup (CLI or wizard).
	SetupDone bool `json:"setup_done"`
	// Smarthost, when set, relays all outbound mail through a provider
	// (for ISPs that block port 25).
	Smarthost *Smarthost `json:"smarthost,omitempty"`
	// QueueMaxDays is how long the outbound queue retries a message
	// before it returns it to the sender; default 5.
	QueueMaxDays int `json:"queue_max_days,omitempty"`
	// Network is the wired interface's configuration chosen in the setup
	// wizard. It is stored only: applying it to the interface is the
	// device's network setup (not built yet), and dev mode never applies it.
	Network *Network `json:"network,omitempty"`
	// TimeZone is an IANA time zone name ("Europe/Paris") for the web UI's
	// times; UTC when empty.
	TimeZone string `json:"time_zone,omitempty"`
	// DNSMode is "own" (the box is authoritative for its domains: the
	// registrar lists it as name server) or "external" (the admin copies
	// the records to another DNS provider); "own" when empty.
	DNSMode string `json:"dns_mode,omitempty"`
}

// Network is the wired interface's configuration.
type Network struct {
	// Mode is "dhcp" or "static".
	Mode       string   `json:"mode"`
	IPv4       string   `json:"ipv4,omitempty"` // address/prefix
	Gateway4   string   `json:"gateway4,omitempty"`
	IPv6       string   `json:"ipv6,omitempty"` // address/prefix
	Gateway6   string   `json:"gateway6,omitempty"`
	DNSServers []string `json:"dns_servers,omitempty"`
}

// Smarthost is a relay for outbound mail, with AUTH over TLS: port 587
// (STARTTLS) or 465 (TLS from the start).
type Smarthost struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	// Insecure accepts any certificate from the relay (a self-signed one on
	// a trusted network). Off by default.
	Insecure bool `json:"insecure,omitempty"`
}

// DefaultMaxMessageBytes is the default size limit of a message.
const DefaultMaxMessageBytes = 50 << 20

// Defaults fills unset fields.
func (s *Settings) Defaults() {
	if s.Version == 0 {
		s.Version = Version
	}
	if s.Hostname == "" {
		s.Hostname = "localhost"
	}
	if s.MaxMessageBytes == 0 {
		s.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if s.QueueMaxDays == 0 {
		s.QueueMaxDays = 5
	}
}

// Validate checks the settings and returns every problem found.
func (s *Settings) Validate() error {
	var errs []error
	if !ValidHostname(s.Hostname) {
		errs = append(errs, fmt.Errorf("hostname %q is not a valid host name", s.Hostname))
	}
	for _, ip := range s.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			errs = append(errs, fmt.Errorf("public IP %q: %w", ip, err))
		}
	}
	for _, p := range append(slices.Clone(s.LANPrefixes), s.AdminAllowList...) {
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("LAN prefix %q: %w", p, err))
		}
	}
	if h := s.Smarthost; h != nil && (!ValidHostname(h.Host) && net.ParseIP(h.Host) == nil || h.Port <= 0 || h.Port > 65535) {
		errs = append(errs, fmt.Errorf("smarthost %s:%d is not a host name and port", h.Host, h.Port))
	}
	if s.QueueMaxDays < 0 || s.QueueMaxDays > 30 {
		errs = append(errs, fmt.Errorf("queue lifetime %d days: want 1 to 30", s.QueueMaxDays))
	}
	for _, f := range s.DNSForwarders {
		if _, err := netip.ParseAddr(f); err != nil {
			if _, err := netip.ParseAddrPort(f); err != nil {
				errs = append(errs, fmt.Errorf("DNS forwarder %q is not an address or address:port", f))
			}
		}
	}
	for name, addrs := range s.LANHosts {
		if !ValidHostname(name) {
			errs = append(errs, fmt.Errorf("LAN host name %q is not a valid host name", name))
		}
		for _, a := range addrs {
			if _, err := netip.ParseAddr(a); err != nil {
				errs = append(errs, fmt.Errorf("LAN host %s: %q: %w", name, a, err))
			}
		}
	}
	if s.MaxMessageBytes < 1<<20 || s.MaxMessageBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("max message size %d is outside 1 MiB..1 GiB", s.MaxMessageBytes))
	}
	switch s.DNSMode {
	case "", "own", "external":
	default:
		errs = append(errs, fmt.Errorf("DNS mode %q: want own or external", s.DNSMode))
	}
	if n := s.Network; n != nil && n.Mode != "dhcp" && n.Mode != "static" {
		errs = append(errs, fmt.Errorf("network mode %q: want dhcp or static", n.Mode))
	}
	return errors.Join(errs...)
}

// ValidHostname reports whether h is a syntactically valid DNS host name.
func ValidHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Parse decodes settings JSON (unknown fields are kept out, not errors, so
// an older program can read a newer file during an A/B rollback) and
// applies defaults.
func Parse(raw []byte) (*Settings, error) {
	var s Settings
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("parse settings: %w", err)
		}
	}
	s.Defaults()
	return &s, nil
}

// Marshal encodes settings as indented JSON.
func (s *Settings) Marshal() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }
