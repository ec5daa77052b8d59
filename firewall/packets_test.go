package firewall

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// These tests send packets through a firewall applied for real in the box
// namespace of a lab (see netns_test.go).

// probe is one connection attempt and whether it should get through.
type probe struct {
	from     *netns
	network  string // "tcp" or "udp"
	src, dst netip.Addr
	port     uint16
	want     bool
}

func (p probe) String() string {
	verb := "blocked"
	if p.want {
		verb = "open"
	}
	return fmt.Sprintf("%s %s → [%s]:%d %s", p.network, p.src, p.dst, p.port, verb)
}

// check runs the probes in parallel and reports each one that went the
// wrong way.
func check(t *testing.T, probes []probe) {
	t.Helper()
	errs := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() {
			wait := blockedWait
			if p.want {
				wait = openWait
			}
			got, err := p.from.reach(p.network, p.src, p.dst, p.port, wait)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("%v: %w", p, err)
			case got != p.want:
				errs[i] = fmt.Errorf("%v: got the opposite", p)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// probes returns a probe from src to dst for each port.
func probes(from *netns, network string, src, dst netip.Addr, want bool, ports ...uint16) []probe {
	var ps []probe
	for _, port := range ports {
		ps = append(ps, probe{from, network, src, dst, port, want})
	}
	return ps
}

// labPolicy is a usual office policy for the lab: mail for all, web and
// ManageSieve for the LAN and wanAlt, recursive DNS for the LAN.
func labPolicy() Policy {
	return Policy{
		Services: Services{SMTP: true, Submission: true, Submissions: true, IMAPS: true, POP3S: true,
			DNSRecursive: true, Web: true, ManageSieve: true},
		LAN:       testLAN,
		AllowList: []netip.Prefix{netip.PrefixFrom(wanAlt4, 32), netip.PrefixFrom(wanAlt6, 128)},
	}
}

var (
	mailPorts   = []uint16{25, 465, 587, 993, 995}
	trustPorts  = []uint16{80, 443, 4190}
	closedPorts = []uint16{110, 143, 8080}
)

// startLab makes a lab, applies p in the box and starts listeners there on
// every port the tests probe.
func startLab(t *testing.T, p Policy) *lab {
	t.Helper()
	l := newLab(t)
	var ports []uint16
	ports = append(ports, mailPorts...)
	ports = append(ports, trustPorts...)
	ports = append(ports, closedPorts...)
	l.box.listen(t, ports, []uint16{53})
	if err := Apply(l.box.conn(t), p, nil); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPacketsByOrigin(t *testing.T) {
	l := startLab(t, labPolicy())
	var ps []probe
	for _, f := range []struct{ wan, alt, lan, boxWAN, boxLAN netip.Addr }{
		{wanHost4, wanAlt4, lanHost4, boxWAN4, boxLAN4},
		{wanHost6, wanAlt6, lanHost6, boxWAN6, boxLAN6},
	} {
		// From the WAN: the mail ports only.
		ps = append(ps, probes(l.wan, "tcp", f.wan, f.boxWAN, true, mailPorts...)...)
		ps = append(ps, probes(l.wan, "tcp", f.wan, f.boxWAN, false, trustPorts...)...)
		ps = append(ps, probes(l.wan, "tcp", f.wan, f.boxWAN, false, closedPorts...)...)
		ps = append(ps, probes(l.wan, "udp", f.wan, f.boxWAN, false, 53)...)
		// From the allow-list: the web UI and ManageSieve too, no recursive DNS.
		ps = append(ps, probes(l.wan, "tcp", f.alt, f.boxWAN, true, append(mailPorts, trustPorts...)...)...)
		ps = append(ps, probes(l.wan, "udp", f.alt, f.boxWAN, false, 53)...)
		// From the LAN: everything enabled, recursive DNS included.
		ps = append(ps, probes(l.lan, "tcp", f.lan, f.boxLAN, true, append(mailPorts, trustPorts...)...)...)
		ps = append(ps, probes(l.lan, "tcp", f.lan, f.boxLAN, false, closedPorts...)...)
		ps = append(ps, probes(l.lan, "udp", f.lan, f.boxLAN, true, 53)...)
	}
	check(t, ps)

	counters, err := ReadCounters(l.box.conn(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"smtp", "web", "dns", "dropped"} {
		if counters[name].Packets == 0 {
			t.Errorf("counter %s is zero after traffic of its class: %v", name, counters)
		}
	}
}

func TestPacketsAuthoritativeDNS(t *testing.T) {
	p := labPolicy()
	p.Services.DNSAuth = true
	l := startLab(t, p)
	check(t, []probe{
		{l.wan, "udp", wanHost4, boxWAN4, 53, true},
		{l.wan, "udp", wanHost6, boxWAN6, 53, true},
		{l.lan, "udp", lanHost4, boxLAN4, 53, true},
	})
}

func TestPacketsBanExpires(t *testing.T) {
	l := startLab(t, labPolicy())
	c := l.box.conn(t)
	for _, ip := range []netip.Addr{wanHost4, wanHost6} {
		if err := BanIP(c, ip, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	bans, err := ListBans(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(bans) != 2 || bans[0].IP != wanHost4 || bans[1].IP != wanHost6 {
		t.Fatalf("ListBans = %v, want %v and %v", bans, wanHost4, wanHost6)
	}
	for _, b := range bans {
		if b.Remaining <= 0 || b.Remaining > Duration(2*time.Second) {
			t.Errorf("ban of %v has %v left, want (0, 2s]", b.IP, b.Remaining)
		}
	}
	check(t, []probe{
		{l.wan, "tcp", wanHost4, boxWAN4, 25, false},
		{l.wan, "tcp", wanHost6, boxWAN6, 25, false},
		{l.wan, "tcp", wanAlt4, boxWAN4, 25, true},
		{l.wan, "tcp", wanAlt6, boxWAN6, 25, true},
	})
	waitReach(t, l.wan, wanHost4, boxWAN4, 25)
	waitReach(t, l.wan, wanHost6, boxWAN6, 25)
	if bans, err := ListBans(c); err != nil || len(bans) != 0 {
		t.Errorf("after expiry ListBans = %v, %v; want none", bans, err)
	}
}

// waitReach waits until src reaches dst:port, for at most 15 seconds.
func waitReach(t *testing.T, n *netns, src, dst netip.Addr, port uint16) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := n.reach("tcp", src, dst, port, blockedWait)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v still cannot reach [%v]:%d", src, dst, port)
		}
	}
}

func TestPacketsUnbanAndReban(t *testing.T) {
	l := startLab(t, labPolicy())
	c := l.box.conn(t)
	if err := BanIP(c, wanHost4, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A second ban replaces the first one's time.
	if err := BanIP(c, wanHost4, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	bans, err := ListBans(c)
	if err != nil || len(bans) != 1 || bans[0].Remaining < Duration(time.Hour) {
		t.Fatalf("ListBans = %v, %v; want %v with more than an hour left", bans, err, wanHost4)
	}
	check(t, []probe{{l.wan, "tcp", wanHost4, boxWAN4, 993, false}})
	if err := UnbanIP(c, wanHost4); err != nil {
		t.Fatal(err)
	}
	if err := UnbanIP(c, wanHost4); err != nil {
		t.Errorf("unban of an address not banned: %v", err)
	}
	check(t, []probe{{l.wan, "tcp", wanHost4, boxWAN4, 993, true}})
}

func TestPacketsBansAndCountersSurviveNewPolicy(t *testing.T) {
	l := startLab(t, labPolicy())
	c := l.box.conn(t)
	if err := BanIP(c, wanHost6, time.Hour); err != nil {
		t.Fatal(err)
	}
	check(t, []probe{{l.lan, "tcp", lanHost4, boxLAN4, 25, true}})
	p := labPolicy()
	p.Services.POP3S = false
	p.AllowList = nil
	if err := Apply(c, p, nil); err != nil {
		t.Fatal(err)
	}
	bans, err := ListBans(c)
	if err != nil || len(bans) != 1 || bans[0].IP != wanHost6 {
		t.Errorf("after a new policy ListBans = %v, %v; want %v", bans, err, wanHost6)
	}
	counters, err := ReadCounters(c)
	if err != nil || counters["smtp"].Packets == 0 {
		t.Errorf("after a new policy the smtp counter is %v (%v), want its old value", counters["smtp"], err)
	}
	check(t, []probe{
		{l.wan, "tcp", wanHost6, boxWAN6, 25, false},
		{l.wan, "tcp", wanHost4, boxWAN4, 995, false},
		{l.wan, "tcp", wanAlt4, boxWAN4, 443, false},
	})
}

func TestPacketsRateLimit(t *testing.T) {
	p := labPolicy()
	p.Limits.LoginPerMinute, p.Limits.LoginBurst = 1, 3
	l := startLab(t, p)
	// The LAN is not limited.
	for i := range 8 {
		if ok, err := l.lan.reach("tcp", lanHost4, boxLAN4, 993, openWait); err != nil || !ok {
			t.Fatalf("LAN connection %d: got %v, %v; want through", i+1, ok, err)
		}
	}
	// One WAN source gets its burst, then is held to the rate.
	var got []bool
	for i := range 8 {
		wait := blockedWait
		if i < 3 {
			wait = openWait
		}
		ok, err := l.wan.reach("tcp", wanHost4, boxWAN4, 993, wait)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	if !got[0] || !got[1] || !got[2] || got[7] {
		t.Errorf("WAN connections got through: %v; want the first three to, and the last not", got)
	}
	// Another source has its own bucket.
	check(t, []probe{{l.wan, "tcp", wanAlt4, boxWAN4, 993, true}})
	counters, err := ReadCounters(l.box.conn(t))
	if err != nil || counters["ratelimited"].Packets == 0 {
		t.Errorf("ratelimited counter = %v (%v), want some", counters["ratelimited"], err)
	}
}

func TestPacketsBanCutsOpenConnection(t *testing.T) {
	l := newLab(t)
	l.box.listenEcho(t, 993)
	c := l.box.conn(t)
	if err := Apply(c, labPolicy(), nil); err != nil {
		t.Fatal(err)
	}
	var conn net.Conn
	err := l.wan.do(func() (err error) {
		d := net.Dialer{Timeout: time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(wanHost4, 0))}
		conn, err = d.Dial("tcp", netip.AddrPortFrom(boxWAN4, 993).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := echoOnce(conn, "before", openWait); err != nil {
		t.Fatalf("echo before the ban: %v", err)
	}
	if err := BanIP(c, wanHost4, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := echoOnce(conn, "after", blockedWait); err == nil {
		t.Error("an open connection still works after its source was banned")
	}
}

// echoOnce writes msg and reads it back, waiting at most wait.
func echoOnce(c net.Conn, msg string, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(c, buf)
	return err
}
