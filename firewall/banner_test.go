package firewall

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestBanner(p Policy) (*Banner, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	b := NewBanner(clock.now)
	b.SetPolicy(p)
	return b, clock
}

var (
	attacker = netip.MustParseAddr("203.0.113.66")
	officePC = netip.MustParseAddr("192.168.1.20")
)

func bannerPolicy() Policy {
	return Policy{
		LAN:       []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/8")},
		AllowList: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
	}
}

// fail reports n failures from ip, a second apart, and returns the ban the
// last one triggered.
func fail(b *Banner, c *fakeClock, ip netip.Addr, n int) (time.Duration, bool) {
	var d time.Duration
	var banned bool
	for range n {
		c.advance(time.Second)
		d, banned = b.Failure(ip)
	}
	return d, banned
}

func TestBannerFiveFailuresBan(t *testing.T) {
	b, c := newTestBanner(bannerPolicy())
	if _, banned := fail(b, c, attacker, 4); banned {
		t.Fatal("banned after 4 failures")
	}
	d, banned := fail(b, c, attacker, 1)
	if !banned || d != DefaultBanTime {
		t.Fatalf("5th failure: ban %v %v, want %v", d, banned, DefaultBanTime)
	}
	if got := b.Active(); len(got) != 1 || got[0].IP != attacker || got[0].Remaining != Duration(DefaultBanTime) {
		t.Errorf("Active = %v", got)
	}
	// Failures while banned (in flight when the ban came) change nothing.
	if _, banned := fail(b, c, attacker, 10); banned {
		t.Error("banned again while banned")
	}
	c.advance(DefaultBanTime)
	if got := b.Active(); len(got) != 0 {
		t.Errorf("Active after the ban ran out = %v", got)
	}
}

func TestBannerWindow(t *testing.T) {
	b, c := newTestBanner(bannerPolicy())
	fail(b, c, attacker, 4)
	c.advance(DefaultWindow)
	if _, banned := fail(b, c, attacker, 1); banned {
		t.Error("failures older than the window counted")
	}
	if _, banned := fail(b, c, attacker, 3); banned {
		t.Error("banned after 4 failures in the window")
	}
	if _, banned := fail(b, c, attacker, 1); !banned {
		t.Error("not banned after 5 failures in the window")
	}
}

func TestBannerRepeatOffenders(t *testing.T) {
	b, c := newTestBanner(bannerPolicy())
	want := DefaultBanTime
	for i := range 14 {
		d, banned := fail(b, c, attacker, DefaultMaxFailures)
		if !banned || d != want {
			t.Fatalf("ban %d: %v %v, want %v", i+1, d, banned, want)
		}
		c.advance(d)
		want = min(2*want, DefaultMaxBanTime)
	}
	if want != DefaultMaxBanTime {
		t.Errorf("bans never reached the cap")
	}
	// A source quiet for MaxBanTime after its ban is forgotten.
	c.advance(DefaultMaxBanTime + time.Second)
	if d, _ := fail(b, c, attacker, DefaultMaxFailures); d != DefaultBanTime {
		t.Errorf("after a long quiet, ban = %v, want %v", d, DefaultBanTime)
	}
}

func TestBannerNeverBans(t *testing.T) {
	b, c := newTestBanner(bannerPolicy())
	for _, s := range []string{
		"192.168.1.20",        // LAN
		"::ffff:192.168.1.20", // LAN, seen on an IPv6 socket
		"fd00::5",             // LAN, IPv6
		"198.51.100.9",        // allow-list
		"127.0.0.1", "::1",    // loopback
		"fe80::1", "169.254.0.1", // link-local
		"0.0.0.0", "::", "224.0.0.1",
	} {
		ip := netip.MustParseAddr(s)
		if _, banned := fail(b, c, ip, 20); banned {
			t.Errorf("%v banned", ip)
		}
		if err := b.Ban(ip, time.Hour); err != ErrExempt {
			t.Errorf("Ban(%v) = %v, want ErrExempt", ip, err)
		}
	}
	// An IPv4 address seen on an IPv6 socket is banned as IPv4.
	if _, banned := fail(b, c, netip.MustParseAddr("::ffff:203.0.113.66"), 5); !banned {
		t.Fatal("mapped address not banned")
	}
	if got := b.Active(); len(got) != 1 || got[0].IP != attacker {
		t.Errorf("Active = %v, want %v", got, attacker)
	}
}

func TestBannerPolicyChange(t *testing.T) {
	p := bannerPolicy()
	p.Bans = BanRules{MaxFailures: 2, BanTime: Duration(time.Hour)}
	b, c := newTestBanner(p)
	if d, banned := fail(b, c, attacker, 2); !banned || d != time.Hour {
		t.Fatalf("ban = %v %v, want an hour after 2 failures", d, banned)
	}
	p.AllowList = append(p.AllowList, netip.MustParsePrefix("203.0.113.0/24"))
	if lifted := b.SetPolicy(p); len(lifted) != 1 || lifted[0] != attacker {
		t.Errorf("SetPolicy lifted %v, want %v", lifted, attacker)
	}
	if got := b.Active(); len(got) != 0 {
		t.Errorf("Active = %v after its source was allowed", got)
	}
}

func TestBannerManual(t *testing.T) {
	b, c := newTestBanner(bannerPolicy())
	if err := b.Ban(attacker, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Ban(attacker, 0); err == nil {
		t.Error("ban of no length accepted")
	}
	c.advance(time.Hour)
	if got := b.Active(); len(got) != 1 || got[0].Remaining != Duration(2*time.Hour) {
		t.Errorf("Active = %v, want 2h left", got)
	}
	b.Unban(attacker)
	if got := b.Active(); len(got) != 0 {
		t.Errorf("Active after Unban = %v", got)
	}
	// A manual ban is no offence: the next automatic ban is the first.
	if d, _ := fail(b, c, attacker, 5); d != DefaultBanTime {
		t.Errorf("first automatic ban = %v, want %v", d, DefaultBanTime)
	}
}

func TestBannerStateRoundTrip(t *testing.T) {
	b, c := newTestBanner(bannerPolicy())
	fail(b, c, attacker, 5)
	c.advance(DefaultBanTime)
	fail(b, c, attacker, 5) // second ban: 20 minutes
	other := netip.MustParseAddr("2001:db8::bad")
	b.Ban(other, time.Minute)
	path := filepath.Join(t.TempDir(), "state.json")
	p := bannerPolicy()
	if err := saveState(path, state{Offenders: b.Offenders(), Policy: &p}); err != nil {
		t.Fatal(err)
	}
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Policy == nil || len(st.Policy.LAN) != 2 {
		t.Errorf("policy not kept: %+v", st.Policy)
	}

	c.advance(5 * time.Minute)
	b2 := NewBanner(c.now)
	b2.SetPolicy(bannerPolicy())
	b2.Restore(st.Offenders)
	got := b2.Active()
	if len(got) != 1 || got[0].IP != attacker || got[0].Remaining != Duration(15*time.Minute) {
		t.Errorf("restored Active = %v, want %v with 15m left", got, attacker)
	}
	// The restored record still counts: the next ban is the third.
	c.advance(time.Hour)
	if d, _ := fail(b2, c, attacker, 5); d != 4*DefaultBanTime {
		t.Errorf("third ban = %v, want %v", d, 4*DefaultBanTime)
	}
}

func TestLoadStateMissingAndBad(t *testing.T) {
	dir := t.TempDir()
	if st, err := loadState(filepath.Join(dir, "none")); err != nil || len(st.Offenders) != 0 {
		t.Errorf("missing state: %+v, %v", st, err)
	}
	bad := filepath.Join(dir, "bad")
	if err := writeFileAtomic(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(bad); err == nil {
		t.Error("bad state: no error")
	}
}
