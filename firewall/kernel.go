package firewall

import (
	"errors"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// kernel is what the role asks of nftables. The real one talks netlink;
// dev mode's records nothing and touches nothing.
type kernel interface {
	apply(p Policy, bans []Ban) error
	ban(ip netip.Addr, d time.Duration) error
	unban(ip netip.Addr) error
	bans() ([]Ban, error)
	counters() (map[string]Counter, error)
}

// nftKernel applies everything with netlink, in the network namespace
// netns (0: the process's own). Each change gets a fresh Conn, so that
// messages queued by a Build that failed can never ride along with the
// next change. The role serialises the calls.
type nftKernel struct{ netns int }

func (k nftKernel) conn() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if k.netns != 0 {
		opts = append(opts, nftables.WithNetNSFd(k.netns))
	}
	return nftables.New(opts...)
}

// with runs f on a fresh Conn.
func (k nftKernel) with(f func(c *nftables.Conn) error) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	return f(c)
}

// apply puts p in the kernel. A kernel without a syslog packet logger
// (gokrazy's has only nfnetlink_log) refuses the log statement with
// ENOENT; the policy then goes in without logging dropped packets (they
// are still counted).
func (k nftKernel) apply(p Policy, bans []Ban) error {
	err := k.with(func(c *nftables.Conn) error { return Apply(c, p, bans) })
	if errors.Is(err, unix.ENOENT) && !p.noLog {
		p.noLog = true
		err = k.with(func(c *nftables.Conn) error { return Apply(c, p, bans) })
	}
	return err
}

func (k nftKernel) ban(ip netip.Addr, d time.Duration) error {
	return k.with(func(c *nftables.Conn) error { return BanIP(c, ip, d) })
}

func (k nftKernel) unban(ip netip.Addr) error {
	return k.with(func(c *nftables.Conn) error { return UnbanIP(c, ip) })
}

func (k nftKernel) bans() (bans []Ban, err error) {
	err = k.with(func(c *nftables.Conn) error { bans, err = ListBans(c); return err })
	return bans, err
}

func (k nftKernel) counters() (m map[string]Counter, err error) {
	err = k.with(func(c *nftables.Conn) error { m, err = ReadCounters(c); return err })
	return m, err
}

// dryKernel is dev mode's: the host firewall is never touched. Bans are
// the Banner's alone.
type dryKernel struct{ banner *Banner }

func (dryKernel) apply(Policy, []Ban) error             { return nil }
func (dryKernel) ban(netip.Addr, time.Duration) error   { return nil }
func (dryKernel) unban(netip.Addr) error                { return nil }
func (k dryKernel) bans() ([]Ban, error)                { return k.banner.Active(), nil }
func (dryKernel) counters() (map[string]Counter, error) { return map[string]Counter{}, nil }
