package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// BanRules decide, in the spirit of fail2ban, when a source is banned and
// for how long. Zero fields take the defaults.
type BanRules struct {
	// MaxFailures failures within Window get a source banned (default 5
	// in 10 minutes).
	MaxFailures int      `json:"max_failures,omitempty"`
	Window      Duration `json:"window,omitempty"`
	// BanTime is the first ban's length (default 10 minutes); each further
	// ban of the same source doubles it, up to MaxBanTime (default one
	// week). A source is forgotten once MaxBanTime has passed since its
	// last ban ended.
	BanTime    Duration `json:"ban_time,omitempty"`
	MaxBanTime Duration `json:"max_ban_time,omitempty"`
}

// Default ban rules.
const (
	DefaultMaxFailures = 5
	DefaultWindow      = 10 * time.Minute
	DefaultBanTime     = 10 * time.Minute
	DefaultMaxBanTime  = 7 * 24 * time.Hour
)

// maxBanTime bounds every ban length.
const maxBanTime = 365 * 24 * time.Hour

func (r BanRules) withDefaults() BanRules {
	if r.MaxFailures == 0 {
		r.MaxFailures = DefaultMaxFailures
	}
	for _, f := range []struct {
		v *Duration
		d time.Duration
	}{{&r.Window, DefaultWindow}, {&r.BanTime, DefaultBanTime}, {&r.MaxBanTime, DefaultMaxBanTime}} {
		if *f.v == 0 {
			*f.v = Duration(f.d)
		}
	}
	return r
}

func (r BanRules) validate() error {
	var errs []error
	if r.MaxFailures < 0 || r.MaxFailures > 1000 {
		errs = append(errs, fmt.Errorf("bans.max_failures = %d is outside 0..1000", r.MaxFailures))
	}
	for _, f := range []struct {
		name string
		v    Duration
	}{{"window", r.Window}, {"ban_time", r.BanTime}, {"max_ban_time", r.MaxBanTime}} {
		if f.v < 0 || time.Duration(f.v) > maxBanTime {
			errs = append(errs, fmt.Errorf("bans.%s = %v is outside 0..%v", f.name, f.v, maxBanTime))
		}
	}
	return errors.Join(errs...)
}

// Banner decides bans from failure reports. It holds no kernel state: the
// caller applies its decisions. It is safe for concurrent use.
type Banner struct {
	now func() time.Time

	mu sync.Mutex // protects the fields below
	// policy says who is exempt, and its Bans the rules (with defaults).
	policy Policy
	rules  BanRules
	// failures are the recent failure times of each source not banned.
	failures map[netip.Addr][]time.Time
	pruneAt  int
	// offenders are the sources banned now or recently.
	offenders map[netip.Addr]*Offender
}

// Offender is a source that has been banned: how many times, and until
// when its last ban runs.
type Offender struct {
	IP    netip.Addr `json:"ip"`
	Bans  int        `json:"bans"`
	Until time.Time  `json:"until"`
}

// NewBanner returns a Banner with the default rules and nobody exempt;
// now is its clock.
func NewBanner(now func() time.Time) *Banner {
	return &Banner{
		now:       now,
		rules:     BanRules{}.withDefaults(),
		failures:  map[netip.Addr][]time.Time{},
		pruneAt:   minPrune,
		offenders: map[netip.Addr]*Offender{},
	}
}

// minPrune is how many sources the failure table holds before it drops the
// stale ones.
const minPrune = 4096

// SetPolicy takes the ban rules and the exempt prefixes from p. It returns
// the addresses whose bans it lifted because p exempts them now.
func (b *Banner) SetPolicy(p Policy) []netip.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.policy, b.rules = p, p.Bans.withDefaults()
	var lifted []netip.Addr
	for ip, o := range b.offenders {
		if !b.bannable(ip) {
			if o.Until.After(b.now()) {
				lifted = append(lifted, ip)
			}
			delete(b.offenders, ip)
		}
	}
	slices.SortFunc(lifted, netip.Addr.Compare)
	return lifted
}

// bannable reports whether ip may be banned at all: never the LAN, the
// allow-list, loopback, link-local or anything that is not a unicast
// address.
func (b *Banner) bannable(ip netip.Addr) bool {
	return ip.IsValid() && ip == ip.Unmap() && ip.Zone() == "" &&
		ip.IsGlobalUnicast() && !ip.IsLinkLocalUnicast() && !b.policy.exempt(ip)
}

// Failure records one failure (a failed login, a protocol abuse, a scan)
// from ip. It returns the length of the ban that it triggers, or false.
func (b *Banner) Failure(ip netip.Addr) (time.Duration, bool) {
	ip = ip.Unmap()
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.bannable(ip) || b.bannedLocked(ip, now) {
		return 0, false
	}
	recent := b.recent(ip, now)
	recent = append(recent, now)
	if len(recent) < b.rules.MaxFailures {
		b.failures[ip] = recent
		b.prune(now)
		return 0, false
	}
	delete(b.failures, ip)
	o := b.offender(ip, now)
	d := b.banLength(o.Bans)
	o.Bans++
	o.Until = now.Add(d)
	return d, true
}

// recent returns ip's failures within the window.
func (b *Banner) recent(ip netip.Addr, now time.Time) []time.Time {
	since := now.Add(-time.Duration(b.rules.Window))
	ts := b.failures[ip]
	i := 0
	for i < len(ts) && !ts[i].After(since) {
		i++
	}
	return ts[i:]
}

// banLength is the length of a source's ban after n earlier ones.
func (b *Banner) banLength(n int) time.Duration {
	d, max := time.Duration(b.rules.BanTime), time.Duration(b.rules.MaxBanTime)
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// offender returns ip's record, a new one if it has none or if it was
// forgotten.
func (b *Banner) offender(ip netip.Addr, now time.Time) *Offender {
	o, ok := b.offenders[ip]
	if !ok || b.forgotten(o, now) {
		o = &Offender{IP: ip}
		b.offenders[ip] = o
	}
	return o
}

func (b *Banner) forgotten(o *Offender, now time.Time) bool {
	return now.After(o.Until.Add(time.Duration(b.rules.MaxBanTime)))
}

// prune drops stale failure records once there are many of them.
func (b *Banner) prune(now time.Time) {
	if len(b.failures) < b.pruneAt {
		return
	}
	for ip := range b.failures {
		if len(b.recent(ip, now)) == 0 {
			delete(b.failures, ip)
		}
	}
	b.pruneAt = max(minPrune, 2*len(b.failures))
}

func (b *Banner) bannedLocked(ip netip.Addr, now time.Time) bool {
	o, ok := b.offenders[ip]
	return ok && o.Until.After(now)
}

// ErrExempt is returned for a ban of an address that is never banned.
var ErrExempt = errors.New("address is in the LAN, the allow-list, or not a public unicast address; it is never banned")

// Ban bans ip for d by hand (the admin CLI), replacing any ban it has.
// It does not count as an offence.
func (b *Banner) Ban(ip netip.Addr, d time.Duration) error {
	ip = ip.Unmap()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.bannable(ip) {
		return ErrExempt
	}
	if d <= 0 || d > maxBanTime {
		return fmt.Errorf("ban length %v is outside 0..%v", d, maxBanTime)
	}
	now := b.now()
	b.offender(ip, now).Until = now.Add(d)
	delete(b.failures, ip)
	return nil
}

// Unban lifts ip's ban and forgets its record, as an admin's pardon.
func (b *Banner) Unban(ip netip.Addr) {
	ip = ip.Unmap()
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.offenders, ip)
	delete(b.failures, ip)
}

// Active returns the bans in force, sorted by address.
func (b *Banner) Active() []Ban {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var bans []Ban
	for ip, o := range b.offenders {
		if o.Until.After(now) {
			bans = append(bans, Ban{IP: ip, Remaining: Duration(o.Until.Sub(now))})
		}
	}
	slices.SortFunc(bans, func(x, y Ban) int { return x.IP.Compare(y.IP) })
	return bans
}

// Offenders returns the records worth keeping across a restart: every
// source not yet forgotten, sorted by address.
func (b *Banner) Offenders() []Offender {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var out []Offender
	for ip, o := range b.offenders {
		if b.forgotten(o, now) {
			delete(b.offenders, ip)
			continue
		}
		out = append(out, *o)
	}
	slices.SortFunc(out, func(x, y Offender) int { return x.IP.Compare(y.IP) })
	return out
}

// Restore puts back records saved by Offenders, skipping those the current
// policy exempts and those already forgotten.
func (b *Banner) Restore(offenders []Offender) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for _, o := range offenders {
		o.IP = o.IP.Unmap()
		if !b.bannable(o.IP) || b.forgotten(&o, now) {
			continue
		}
		b.offenders[o.IP] = &o
	}
}
