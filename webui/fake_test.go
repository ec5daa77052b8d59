package webui

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
)

// fakeBackend is an in-memory Backend for the handler tests. The real one
// (appliance's webBackend over the core) is tested in
// appliance/web_test.go and in a browser in appliance/webui_e2e_test.go.
type fakeBackend struct {
	mu        sync.Mutex
	setupDone bool
	token     string
	accounts  map[string]*Account
	passwords map[string]string
	aliases   map[string][]string
	domains   []string
	failures  []string // users of AuthFailed calls
	setups    []SetupRequest

	uploaded      string   // the last uploaded bundle
	updateActions []string // UpdateAction calls
	updateAuto    string
}

func newFake() *fakeBackend {
	return &fakeBackend{token: "secret-token", accounts: map[string]*Account{}, passwords: map[string]string{}, aliases: map[string][]string{}}
}

// setUp puts the fake in the state after setup, with an admin and a user.
func (f *fakeBackend) setUp() {
	f.setupDone = true
	f.domains = []string{"example.test"}
	f.add("admin@example.test", "admin-password", true)
	f.add("alice@example.test", "alice-password", false)
	f.add("bob@example.test", "bob-password-1", false)
}

func (f *fakeBackend) add(addr, pw string, admin bool) {
	f.accounts[addr] = &Account{Address: addr, Admin: admin, Quota: 100 << 20, Used: 5 << 20}
	f.passwords[addr] = pw
}

func (f *fakeBackend) SetupDone() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.setupDone }
func (f *fakeBackend) CheckSetupToken(t string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.setupDone && t == f.token
}
func (f *fakeBackend) Setup(ctx context.Context, p SetupRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setups = append(f.setups, p)
	f.setupDone = true
	f.domains = []string{p.Domain}
	f.add(p.Admin, p.Password, true)
	return nil
}
func (f *fakeBackend) InstallCertificate(ctx context.Context, c, k []byte) error { return nil }
func (f *fakeBackend) Authenticate(ctx context.Context, user, pw string) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[user]
	if a == nil || f.passwords[user] != pw || a.Disabled {
		return Account{}, errors.New("auth failed")
	}
	return *a, nil
}
func (f *fakeBackend) AuthFailed(remote net.Addr, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, user)
}
func (f *fakeBackend) Accounts(ctx context.Context) ([]Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Account
	for _, a := range f.accounts {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}
func (f *fakeBackend) Account(ctx context.Context, addr string) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[addr]; a != nil {
		return *a, nil
	}
	return Account{}, errors.New("not found")
}
func (f *fakeBackend) AddAccount(ctx context.Context, addr, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.accounts[addr] != nil {
		return errors.New("already exists")
	}
	f.add(addr, pw, false)
	return nil
}
func (f *fakeBackend) DeleteAccount(ctx context.Context, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.accounts, addr)
	return nil
}
func (f *fakeBackend) SetPassword(ctx context.Context, addr, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.accounts[addr] == nil {
		return errors.New("not found")
	}
	f.passwords[addr] = pw
	return nil
}
func (f *fakeBackend) SetQuota(ctx context.Context, addr string, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[addr].Quota = n
	return nil
}
func (f *fakeBackend) SetDisabled(ctx context.Context, addr string, off bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[addr].Disabled = off
	return nil
}
func (f *fakeBackend) Aliases(ctx context.Context) ([]Alias, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Alias
	for a, t := range f.aliases {
		out = append(out, Alias{a, t})
	}
	return out, nil
}
func (f *fakeBackend) AddAlias(ctx context.Context, addr string, t []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aliases[addr] = t
	return nil
}
func (f *fakeBackend) DeleteAlias(ctx context.Context, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.aliases, addr)
	return nil
}
func (f *fakeBackend) Domains(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.domains), nil
}
func (f *fakeBackend) AddDomain(ctx context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domains = append(f.domains, n)
	return nil
}
func (f *fakeBackend) DeleteDomain(ctx context.Context, n string) error { return nil }
func (f *fakeBackend) DNSRecords(ctx context.Context, d string) (*DNSReport, error) {
	return &DNSReport{Domain: d, Own: true, NS: []string{"mail." + d + "."}, ZoneFile: d + ". 3600 IN MX 10 mail." + d + ".",
		Records: []DNSRecord{{Name: d + ".", Type: "MX", Value: "10 mail." + d + ".", Result: "bad", Seen: "10 other.example."}}}, nil
}
func (f *fakeBackend) Queue(ctx context.Context) ([]QueueEntry, error) {
	return []QueueEntry{{ID: 7, From: "alice@example.test", To: []string{"x@example.org"}, Attempts: 2, LastError: "connection refused"}}, nil
}
func (f *fakeBackend) QueueRetry(ctx context.Context, id uint64) error { return nil }
func (f *fakeBackend) QueueDrop(ctx context.Context, id uint64) error  { return nil }
func (f *fakeBackend) Firewall(ctx context.Context) (*FirewallInfo, error) {
	return &FirewallInfo{Bans: []Ban{{IP: "203.0.113.9"}}}, nil
}
func (f *fakeBackend) Unban(ctx context.Context, ip string) error { return nil }
func (f *fakeBackend) Status(ctx context.Context) (*Status, error) {
	return &Status{Version: "test", Hostname: "mail.example.test", Hourly: []HourCount{{In: 3, Out: 1}}}, nil
}
func (f *fakeBackend) Checks(ctx context.Context) []Check {
	return []Check{{Name: "DNS", Result: "warn", Detail: "not visible yet", Fix: "wait"}}
}
func (f *fakeBackend) Logs(service, filter string) []LogLine {
	return []LogLine{{Service: "smtp", Text: "hello " + filter}}
}
func (f *fakeBackend) Client() ClientSettings {
	return ClientSettings{Hostname: "mail.example.test", IMAPS: 993, IMAP: 143, Submissions: 465, Submission: 587, POP3S: 995}
}

// The update page's methods: the fake keeps what was uploaded and asked.
func (f *fakeBackend) Updates(ctx context.Context) (*Updates, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &Updates{Version: "1.5", Build: 5, Managed: true, AgentAlive: true, Auto: f.updateAuto, Night: "03:00 UTC", Feed: "https://updates.example/feed.json", Percent: -1}
	if f.uploaded != "" {
		u.Uploaded = &UpdateOffer{Version: "1.6", Build: 6, Notes: "Uploaded notes.", Source: "upload"}
	}
	return u, nil
}

func (f *fakeBackend) UploadUpdate(ctx context.Context, r io.Reader, size int64) (UpdateOffer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return UpdateOffer{}, err
	}
	if !strings.HasPrefix(string(b), "BUNDLE") {
		return UpdateOffer{}, errors.New("update refused: not an update bundle")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploaded = string(b)
	return UpdateOffer{Version: "1.6", Build: 6, Source: "upload"}, nil
}

func (f *fakeBackend) UpdateAction(ctx context.Context, action string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateActions = append(f.updateActions, action)
	return nil
}

func (f *fakeBackend) SetUpdatePolicy(ctx context.Context, p UpdateSettings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateAuto = p.Auto
	return nil
}
