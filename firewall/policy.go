package firewall

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"
)

// Policy is everything the firewall enforces apart from the bans. The core
// derives it from the settings and writes it as JSON (WritePolicy); the
// firewall role applies it. The zero value opens no service: only loopback,
// replies to the box's own connections and the ICMP messages IP needs.
type Policy struct {
	// Services says which services are open.
	Services Services `json:"services"`
	// LAN lists the office's prefixes (IPv4 and IPv6). They reach every
	// enabled service, recursive DNS included, are not rate-limited and are
	// never banned.
	LAN []netip.Prefix `json:"lan,omitempty"`
	// LANConnected adds the private networks the box's own interfaces
	// are on to the LAN (the office network the box is plugged into; see
	// internal/netif), kept up to date as addresses come and go.
	LANConnected bool `json:"lan_connected,omitempty"`
	// AllowList lists further prefixes (an admin's home, a monitoring host)
	// that reach the web UI and ManageSieve, are not rate-limited and are
	// never banned. They get no recursive DNS.
	AllowList []netip.Prefix `json:"allow_list,omitempty"`
	// Limits are the rate limits; zero fields take the defaults.
	Limits Limits `json:"limits"`
	// Bans are the ban rules; zero fields take the defaults.
	Bans BanRules `json:"bans"`

	// noLog leaves out the logging of dropped packets, for a kernel with
	// no syslog packet logger (gokrazy's).
	noLog bool
}

// Services says which services the box offers. Mail ports and authoritative
// DNS are open to anyone; recursive DNS to the LAN only; the web UI and
// ManageSieve to the LAN and the allow-list.
type Services struct {
	SMTP         bool `json:"smtp,omitempty"`          // 25/tcp (MX)
	Submission   bool `json:"submission,omitempty"`    // 587/tcp (STARTTLS)
	Submissions  bool `json:"submissions,omitempty"`   // 465/tcp (implicit TLS)
	IMAP         bool `json:"imap,omitempty"`          // 143/tcp
	IMAPS        bool `json:"imaps,omitempty"`         // 993/tcp
	POP3         bool `json:"pop3,omitempty"`          // 110/tcp
	POP3S        bool `json:"pop3s,omitempty"`         // 995/tcp
	DNSAuth      bool `json:"dns_auth,omitempty"`      // 53/udp+tcp from anywhere
	DNSRecursive bool `json:"dns_recursive,omitempty"` // 53/udp+tcp from the LAN
	Web          bool `json:"web,omitempty"`           // 80/tcp, 443/tcp
	ManageSieve  bool `json:"managesieve,omitempty"`   // 4190/tcp
}

// Limits are rate limits. Zero fields take the defaults below; the rates are
// per source address, except PingPerSecond and LogPerMinute, which are for
// the whole box.
type Limits struct {
	// SMTPPerMinute is the number of new connections to port 25 one source
	// may open per minute once SMTPBurst is used up (default 30, burst 20).
	SMTPPerMinute int `json:"smtp_per_minute,omitempty"`
	SMTPBurst     int `json:"smtp_burst,omitempty"`
	// LoginPerMinute is the same for the ports where users log in
	// (submission, IMAP, POP3; default 20, burst 10).
	LoginPerMinute int `json:"login_per_minute,omitempty"`
	LoginBurst     int `json:"login_burst,omitempty"`
	// PingPerSecond limits echo requests (default 10, burst twice that).
	PingPerSecond int `json:"ping_per_second,omitempty"`
	// LogPerMinute limits the log lines for dropped packets (default 10,
	// burst twice that).
	LogPerMinute int `json:"log_per_minute,omitempty"`
}

// Default limits.
const (
	DefaultSMTPPerMinute  = 30
	DefaultSMTPBurst      = 20
	DefaultLoginPerMinute = 20
	DefaultLoginBurst     = 10
	DefaultPingPerSecond  = 10
	DefaultLogPerMinute   = 10
)

// maxRate bounds every limit: beyond it a limit protects nothing.
const maxRate = 1_000_000

// withDefaults returns l with its zero fields set to the defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.SMTPPerMinute, DefaultSMTPPerMinute)
	def(&l.SMTPBurst, DefaultSMTPBurst)
	def(&l.LoginPerMinute, DefaultLoginPerMinute)
	def(&l.LoginBurst, DefaultLoginBurst)
	def(&l.PingPerSecond, DefaultPingPerSecond)
	def(&l.LogPerMinute, DefaultLogPerMinute)
	return l
}

func (l Limits) validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{
		{"smtp_per_minute", l.SMTPPerMinute},
		{"smtp_burst", l.SMTPBurst},
		{"login_per_minute", l.LoginPerMinute},
		{"login_burst", l.LoginBurst},
		{"ping_per_second", l.PingPerSecond},
		{"log_per_minute", l.LogPerMinute},
	} {
		if f.v < 0 || f.v > maxRate {
			errs = append(errs, fmt.Errorf("limit %s = %d is outside 0..%d", f.name, f.v, maxRate))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the policy and returns every problem found.
func (p *Policy) Validate() error {
	var errs []error
	errs = append(errs, validPrefixes("lan", p.LAN)...)
	errs = append(errs, validPrefixes("allow_list", p.AllowList)...)
	errs = append(errs, p.Limits.validate(), p.Bans.validate())
	return errors.Join(errs...)
}

func validPrefixes(field string, ps []netip.Prefix) []error {
	var errs []error
	for i, pfx := range ps {
		switch {
		case !pfx.IsValid():
			errs = append(errs, fmt.Errorf("%s[%d]: not a valid prefix", field, i))
		case pfx.Addr().Is4In6():
			errs = append(errs, fmt.Errorf("%s[%d] %s: IPv4-mapped IPv6 prefix; write the IPv4 prefix", field, i, pfx))
		}
	}
	return errs
}

// exempt reports whether ip is in the LAN or the allow-list, which are
// never banned and never rate-limited.
func (p *Policy) exempt(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, list := range [][]netip.Prefix{p.LAN, p.AllowList} {
		for _, pfx := range list {
			if pfx.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// ReadPolicy reads and validates a policy file.
func ReadPolicy(path string) (Policy, error) {
	var p Policy
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("read policy: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("parse policy %s: %w", path, err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// WritePolicy validates p and writes it to path atomically (temporary file
// in the same directory, then rename), the way the firewall role expects
// the core to replace its snapshot.
func WritePolicy(path string, p Policy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "\t")
	if err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// Duration is a time.Duration written in JSON as a string ("10m0s").
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// String writes d as time.Duration.String does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText reads what time.ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
