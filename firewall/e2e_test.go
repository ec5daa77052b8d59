package firewall

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/nftables"
)

// TestRoleBansAtPacketLevel runs the role on a lab's box and feeds it what
// the core would report: five failed logins from a WAN address get it
// dropped, the same from a LAN address change nothing. The bans survive a
// restart of the role even when the kernel lost them, and an admin can
// lift them.
func TestRoleBansAtPacketLevel(t *testing.T) {
	l := newLab(t)
	l.box.listen(t, []uint16{25, 587, 993}, nil)
	o := roleOptions(t, labPolicy())
	o.NetNS = l.box.FD
	r := startRole(t, o)
	c := l.box.conn(t)

	// The same lines Report sends, through Call, which waits longer for
	// the answer on a loaded machine.
	for range DefaultMaxFailures {
		for _, ev := range []Request{
			{Type: EventAuthFailure, IP: wanHost4, Proto: "imap", User: "alice"},
			{Type: EventAuthFailure, IP: wanHost6, Proto: "submission", User: "bob"},
			{Type: EventAuthFailure, IP: lanHost4, Proto: "imap", User: "carol"},
			{Type: EventAuthFailure, IP: lanHost6, Proto: "submission", User: "dave"},
		} {
			r.call(t, ev)
		}
	}
	wantBans(t, c, wanHost4, wanHost6)
	check(t, []probe{
		{l.wan, "tcp", wanHost4, boxWAN4, 993, false},
		{l.wan, "tcp", wanHost6, boxWAN6, 587, false},
		{l.wan, "tcp", wanAlt4, boxWAN4, 993, true},
		{l.lan, "tcp", lanHost4, boxLAN4, 993, true},
		{l.lan, "tcp", lanHost6, boxLAN6, 587, true},
	})

	// The role stops, the kernel loses the table (a reboot), the role
	// starts again: the bans are back.
	r.stop(t)
	c.DelTable(table())
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	r = startRole(t, o)
	wantBans(t, c, wanHost4, wanHost6)
	check(t, []probe{{l.wan, "tcp", wanHost4, boxWAN4, 25, false}})

	r.call(t, Request{Type: RequestUnban, IP: wanHost4})
	wantBans(t, c, wanHost6)
	check(t, []probe{{l.wan, "tcp", wanHost4, boxWAN4, 25, true}})

	// A new policy file is applied without losing the remaining ban.
	p := labPolicy()
	p.Services.Submission = false
	if err := WritePolicy(o.PolicyPath, p); err != nil {
		t.Fatal(err)
	}
	waitShow(t, r, Render(p))
	wantBans(t, c, wanHost6)
	check(t, []probe{{l.wan, "tcp", wanHost4, boxWAN4, 587, false}})
}

// wantBans checks the kernel's ban sets hold exactly ips, each for at most
// the first ban's length.
func wantBans(t *testing.T, c *nftables.Conn, ips ...netip.Addr) {
	t.Helper()
	bans, err := ListBans(c)
	if err != nil {
		t.Fatal(err)
	}
	ok := len(bans) == len(ips)
	for i := 0; ok && i < len(ips); i++ {
		ok = bans[i].IP == ips[i] && bans[i].Remaining > 0 && bans[i].Remaining <= Duration(DefaultBanTime)
	}
	if !ok {
		t.Errorf("kernel bans = %v, want %v for up to %v", bans, ips, time.Duration(DefaultBanTime))
	}
}
