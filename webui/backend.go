package webui

import (
	"context"
	"io"
	"net"
	"time"
)

// Backend is what the web UI needs from the box. The appliance implements
// it over its core, calling the same functions as the admin CLI; the
// tests use a fake (fake_test.go).
type Backend interface {
	// SetupDone reports whether the box has been set up (by the wizard or
	// `facteur setup`).
	SetupDone() bool
	// CheckSetupToken reports whether token is the one-time setup token.
	// It is always false once setup is done.
	CheckSetupToken(token string) bool
	// Setup configures the box (hostname, first domain, admin account,
	// network, time zone, DNS mode): what `facteur setup` does.
	Setup(ctx context.Context, p SetupRequest) error
	// InstallCertificate replaces the TLS certificate with an uploaded one.
	InstallCertificate(ctx context.Context, certPEM, keyPEM []byte) error

	// Authenticate checks a login; disabled accounts fail.
	Authenticate(ctx context.Context, user, password string) (Account, error)
	// AuthFailed records a failed login from remote (counted, and reported
	// to the firewall role, which may ban the address).
	AuthFailed(remote net.Addr, user string)

	Accounts(ctx context.Context) ([]Account, error)
	Account(ctx context.Context, addr string) (Account, error)
	AddAccount(ctx context.Context, addr, password string) error
	DeleteAccount(ctx context.Context, addr string) error
	SetPassword(ctx context.Context, addr, password string) error
	SetQuota(ctx context.Context, addr string, bytes int64) error
	SetDisabled(ctx context.Context, addr string, disabled bool) error

	Aliases(ctx context.Context) ([]Alias, error)
	AddAlias(ctx context.Context, addr string, targets []string) error
	DeleteAlias(ctx context.Context, addr string) error

	Domains(ctx context.Context) ([]string, error)
	AddDomain(ctx context.Context, name string) error
	DeleteDomain(ctx context.Context, name string) error
	// DNSRecords returns what the box publishes for domain, each record
	// checked live against what resolvers answer.
	DNSRecords(ctx context.Context, domain string) (*DNSReport, error)

	Queue(ctx context.Context) ([]QueueEntry, error)
	QueueRetry(ctx context.Context, id uint64) error
	QueueDrop(ctx context.Context, id uint64) error

	// Firewall returns the current bans and counters; an error when the
	// firewall role does not answer.
	Firewall(ctx context.Context) (*FirewallInfo, error)
	Unban(ctx context.Context, ip string) error

	Status(ctx context.Context) (*Status, error)
	// Checks are the summary's checks: ports listening, records resolving,
	// certificate.
	Checks(ctx context.Context) []Check
	// Logs returns recent log lines, oldest first, of one service ("" for
	// all) that contain filter.
	Logs(service, filter string) []LogLine
	// Client is what a mail client needs to know.
	Client() ClientSettings

	// Updates is the update page: the running firmware, what the update
	// agent offers and does, and the history.
	Updates(ctx context.Context) (*Updates, error)
	// UploadUpdate stages an uploaded bundle of about size bytes (-1 when
	// unknown) after checking its signature, board, build and hashes;
	// nothing is installed until UpdateAction.
	UploadUpdate(ctx context.Context, r io.Reader, size int64) (UpdateOffer, error)
	// UpdateAction asks the update agent: "check", "install-now",
	// "install-tonight", "upload-now", "upload-tonight", "cancel" or
	// "discard" (the uploaded bundle).
	UpdateAction(ctx context.Context, action string) error
	// SetUpdatePolicy saves the update settings.
	SetUpdatePolicy(ctx context.Context, p UpdateSettings) error
}

// UpdateSettings are the admin's update choices.
type UpdateSettings struct {
	// Auto is when offered updates install by themselves: "night", "now"
	// or "off".
	Auto string
	// Channel is "stable" or "beta"; "" keeps the image's.
	Channel string
	// Feed is the update address; "" keeps the image's.
	Feed string
}

// Updates is what the update page shows.
type Updates struct {
	Version string
	Build   uint64
	Board   string
	Channel string
	// Managed is false outside the firmware image (dev mode): there is no
	// update agent and nothing can be installed.
	Managed bool
	// Auto is the policy: "night", "now" or "off"; Night is the local
	// time of the nightly installation ("03:00 Europe/Paris").
	Auto  string
	Night string
	// Follow is the chosen channel ("" is the image's, Channel).
	Follow string
	// Checked is the last look at the update feed; Feed is its address
	// ("" when the box has none).
	Checked    time.Time
	Feed       string
	CheckError string
	Offer      *UpdateOffer // downloaded and verified, ready to install
	Uploaded   *UpdateOffer // an uploaded bundle waiting for a decision
	// Phase is "", "downloading", "installing" or "rebooting"; Percent
	// its progress when known (-1 otherwise).
	Phase     string
	Percent   int
	Scheduled time.Time
	Error     string
	// Testing names an update written and being test-booted.
	Testing string
	// AgentAlive is false when the agent has not reported for a while.
	AgentAlive bool
	History    []UpdateEvent // newest first
}

// UpdateOffer is a bundle that can be installed.
type UpdateOffer struct {
	Version string
	Build   uint64
	Notes   string
	Source  string // "feed" or "upload"
}

// UpdateEvent is one line of the update history.
type UpdateEvent struct {
	Time    time.Time
	Version string
	Build   uint64
	What    string
	Detail  string
}

// SetupRequest is everything the wizard collects before applying setup.
type SetupRequest struct {
	Admin, Password  string
	Domain, Hostname string
	PublicIPs        []string
	Network          Network
	TimeZone         string
	// DNSMode is "own" (the box is authoritative) or "external".
	DNSMode string
}

// Network is the wired interface's configuration as the admin chose it.
type Network struct {
	// Mode is "dhcp" or "static".
	Mode       string   `json:"mode"`
	IPv4       string   `json:"ipv4,omitempty"` // address/prefix, e.g. 192.168.1.10/24
	Gateway4   string   `json:"gateway4,omitempty"`
	IPv6       string   `json:"ipv6,omitempty"`
	Gateway6   string   `json:"gateway6,omitempty"`
	DNSServers []string `json:"dns_servers,omitempty"`
}

// Account is a mail account as the UI shows it.
type Account struct {
	Address  string
	Admin    bool
	Disabled bool
	Quota    int64 // bytes; 0 means none
	Used     int64
}

// Alias forwards an address to targets (a distribution list when there
// are several).
type Alias struct {
	Address string
	Targets []string
}

// DNSReport is a domain's published records and their live check.
type DNSReport struct {
	Domain string
	// Own says the box is authoritative for the domain (DNS mode "own").
	Own bool
	// NS and Glue are what to enter at the registrar in "own" mode.
	NS   []string
	Glue []string
	// ZoneFile is the zone as `facteur dns records` prints it.
	ZoneFile string
	Records  []DNSRecord
	// Resolver is the DNS server the live check asked.
	Resolver string
}

// DNSRecord is one published record and what a resolver answered.
type DNSRecord struct {
	Name, Type, Value string
	// Seen is what the resolver answered for Name/Type (joined values).
	Seen string
	// Result is "ok", "warn" or "bad".
	Result string
}

// QueueEntry is an outgoing message waiting for delivery.
type QueueEntry struct {
	ID          uint64
	From        string
	To          []string
	Size        int64
	Created     time.Time
	NextAttempt time.Time
	Attempts    int
	LastError   string
}

// FirewallInfo is the firewall role's state.
type FirewallInfo struct {
	Bans     []Ban
	Counters []Counter
}

// Ban is a banned address.
type Ban struct {
	IP        string
	Remaining time.Duration
}

// Counter is a named firewall rule counter.
type Counter struct {
	Name           string
	Packets, Bytes uint64
}

// Status is the dashboard's summary.
type Status struct {
	Version      string
	Hostname     string
	Uptime       time.Duration
	Services     []Service
	QueueLength  int
	DiskUsed     uint64
	DiskTotal    uint64
	CertNotAfter time.Time
	CertIssuer   string
	// Hourly are messages in/out per hour, oldest first, the last 24 hours.
	Hourly     []HourCount
	AuthFailed map[string]int
	TimeZone   string
	// UpdateReady names an update waiting to be installed ("" if none).
	UpdateReady string
}

// Service is a listener and whether it answers.
type Service struct {
	Name, Addr string
	Up         bool
}

// HourCount is the mail of one hour.
type HourCount struct {
	Hour    time.Time
	In, Out int
}

// Check is one result of the summary: Result is "ok", "warn" or "bad",
// Fix says what to do about anything but ok.
type Check struct {
	Name, Result, Detail, Fix string
}

// LogLine is one recent log line.
type LogLine struct {
	Time    time.Time
	Level   string
	Service string
	Text    string
}

// ClientSettings are the servers a mail client uses.
type ClientSettings struct {
	Hostname string
	// Ports; 0 when the service is off.
	IMAPS, IMAP, Submissions, Submission, POP3S int
}
