package firewall

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// This file builds the small networks the system tests run in: fresh
// network namespaces joined by veth pairs, each removed when the test ends,
// whatever happened.
//
//	wan  203.0.113.2, .3       2001:db8:fac7:1::2, ::3
//	  |  veth
//	box  203.0.113.1           2001:db8:fac7:1::1     (the firewall under test)
//	     198.51.100.1          fd00:fac7:2::1
//	  |  veth
//	lan  198.51.100.2          fd00:fac7:2::2

// Addresses of the test network.
var (
	boxWAN4  = netip.MustParseAddr("203.0.113.1")
	boxWAN6  = netip.MustParseAddr("2001:db8:fac7:1::1")
	boxLAN4  = netip.MustParseAddr("198.51.100.1")
	boxLAN6  = netip.MustParseAddr("fd00:fac7:2::1")
	wanHost4 = netip.MustParseAddr("203.0.113.2")
	wanHost6 = netip.MustParseAddr("2001:db8:fac7:1::2")
	wanAlt4  = netip.MustParseAddr("203.0.113.3") // a second host on the WAN side
	wanAlt6  = netip.MustParseAddr("2001:db8:fac7:1::3")
	lanHost4 = netip.MustParseAddr("198.51.100.2")
	lanHost6 = netip.MustParseAddr("fd00:fac7:2::2")

	testLAN = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("fd00:fac7:2::/64")}
)

// netns is a network namespace made for one test.
type netns struct {
	name string
	fd   int
}

// needNetNS skips the test unless it may create network namespaces and
// has the tools it uses.
func needNetNS(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: network namespace tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN); `make test` runs them as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: network namespace tests need `ip` (Debian's iproute2)")
	}
}

// newNetNS creates a namespace with loopback up, removed at the test's end.
func newNetNS(t *testing.T, role string) *netns {
	t.Helper()
	name := "fw-" + role + "-" + randHex(3)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace here: ip netns add: %v: %s", err, out)
	}
	n := &netns{name: name, fd: -1}
	t.Cleanup(func() {
		if n.fd >= 0 {
			unix.Close(n.fd)
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	n.fd = fd
	n.ip(t, "link", "set", "lo", "up")
	return n
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ip runs `ip -n NS args...` and fails the test if it fails.
func (n *netns) ip(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"-n", n.name}, args...)
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// exec runs a command inside the namespace and returns its output.
func (n *netns) exec(name string, args ...string) (string, error) {
	args = append([]string{"netns", "exec", n.name, name}, args...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// do runs f on an OS thread that has entered the namespace. Sockets made
// in f stay in the namespace. The thread is never handed back to the
// scheduler: it ends with its goroutine.
func (n *netns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// conn returns an nftables connection to the namespace.
func (n *netns) conn(t *testing.T) *nftables.Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(n.fd))
	if err != nil {
		t.Fatalf("nftables connection to %s: %v", n.name, err)
	}
	return c
}

// link joins two namespaces with a veth pair and gives each end its
// addresses (without duplicate address detection, so IPv6 works at once).
func link(t *testing.T, a *netns, aAddrs []string, b *netns, bAddrs []string) {
	t.Helper()
	ifA, ifB := "veth-"+randHex(3), "veth-"+randHex(3)
	out, err := exec.Command("ip", "link", "add", ifA, "netns", a.name, "type", "veth",
		"peer", "name", ifB, "netns", b.name).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link add veth: %v: %s", err, out)
	}
	for _, side := range []struct {
		ns    *netns
		dev   string
		addrs []string
	}{{a, ifA, aAddrs}, {b, ifB, bAddrs}} {
		for _, addr := range side.addrs {
			args := []string{"addr", "add", addr, "dev", side.dev}
			if strings.Contains(addr, ":") {
				args = append(args, "nodad")
			}
			side.ns.ip(t, args...)
		}
		side.ns.ip(t, "link", "set", side.dev, "up")
	}
	// Packets sent before the carrier is up are lost, and a lost neighbour
	// solicitation is repeated only after a second: wait for it.
	for _, side := range []struct {
		ns  *netns
		dev string
	}{{a, ifA}, {b, ifB}} {
		side.ns.waitCarrier(t, side.dev)
	}
}

// waitCarrier waits until dev has a carrier, for at most five seconds.
func (n *netns) waitCarrier(t *testing.T, dev string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out, err := exec.Command("ip", "-n", n.name, "link", "show", "dev", dev).CombinedOutput()
		if err != nil {
			t.Fatalf("ip link show %s: %v: %s", dev, err, out)
		}
		if !strings.Contains(string(out), "NO-CARRIER") && strings.Contains(string(out), "LOWER_UP") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s has no carrier: %s", dev, n.name, out)
		}
	}
}

// lab is the test network: box between wan and lan.
type lab struct {
	box, wan, lan *netns
}

func newLab(t *testing.T) *lab {
	t.Helper()
	needNetNS(t)
	l := &lab{box: newNetNS(t, "box"), wan: newNetNS(t, "wan"), lan: newNetNS(t, "lan")}
	link(t, l.box, []string{"203.0.113.1/24", "2001:db8:fac7:1::1/64"},
		l.wan, []string{"203.0.113.2/24", "203.0.113.3/24", "2001:db8:fac7:1::2/64", "2001:db8:fac7:1::3/64"})
	link(t, l.box, []string{"198.51.100.1/24", "fd00:fac7:2::1/64"},
		l.lan, []string{"198.51.100.2/24", "fd00:fac7:2::2/64"})
	return l
}

// listen starts TCP listeners on ports and a UDP echo on udpPorts inside
// the namespace; they stop at the test's end.
func (n *netns) listen(t *testing.T, ports []uint16, udpPorts []uint16) {
	t.Helper()
	var closers []func() error
	var wg sync.WaitGroup
	err := n.do(func() error {
		for _, p := range ports {
			l, err := net.Listen("tcp", fmt.Sprintf("[::]:%d", p))
			if err != nil {
				return err
			}
			closers = append(closers, l.Close)
			wg.Go(func() { acceptAndClose(l) })
		}
		for _, p := range udpPorts {
			pc, err := net.ListenPacket("udp", fmt.Sprintf("[::]:%d", p))
			if err != nil {
				return err
			}
			closers = append(closers, pc.Close)
			wg.Go(func() { echo(pc) })
		}
		return nil
	})
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
		wg.Wait()
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", n.name, err)
	}
}

// listenEcho starts a TCP echo server on port inside the namespace.
func (n *netns) listenEcho(t *testing.T, port uint16) {
	t.Helper()
	var l net.Listener
	err := n.do(func() (err error) {
		l, err = net.Listen("tcp", fmt.Sprintf("[::]:%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", n.name, err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // protects conns
		conns []net.Conn
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(c, c) })
		}
	})
}

func acceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func echo(pc net.PacketConn) {
	buf := make([]byte, 512)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], addr)
	}
}

// How long a probe waits: before it calls a port filtered, and at most
// for a connection that should get through (under load).
const (
	blockedWait = 700 * time.Millisecond
	openWait    = 5 * time.Second
)

// reach reports whether a TCP connection (or a UDP echo) from src, inside
// the namespace, to dst:port gets through within wait. A drop shows as a
// time-out; any other failure is an error.
func (n *netns) reach(network string, src, dst netip.Addr, port uint16, wait time.Duration) (bool, error) {
	var ok bool
	err := n.do(func() error {
		var err error
		if network == "udp" {
			ok, err = udpEcho(src, dst, port, wait)
		} else {
			ok, err = tcpConnect(src, dst, port, wait)
		}
		return err
	})
	return ok, err
}

func tcpConnect(src, dst netip.Addr, port uint16, wait time.Duration) (bool, error) {
	d := net.Dialer{Timeout: wait, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := d.Dial("tcp", netip.AddrPortFrom(dst, port).String())
	if err == nil {
		c.Close()
		return true, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, nil
	}
	return false, err
}

func udpEcho(src, dst netip.Addr, port uint16, wait time.Duration) (bool, error) {
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)),
		net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, port)))
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping")); err != nil {
		return false, err
	}
	buf := make([]byte, 16)
	if _, err := c.Read(buf); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
