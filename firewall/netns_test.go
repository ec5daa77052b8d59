package firewall

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"facteur/firewall/netnstest"

	"github.com/google/nftables"
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

// netns is a namespace of the test network (see package netnstest), with
// an nftables connection to it.
type netns struct{ *netnstest.NS }

func needNetNS(t *testing.T) { netnstest.Need(t) }

// newNetNS creates a namespace with loopback up, removed at the test's end.
func newNetNS(t *testing.T, role string) *netns {
	return &netns{netnstest.New(t, "fw-"+role)}
}

func randHex(n int) string { return netnstest.RandHex(n) }

func (n *netns) ip(t *testing.T, args ...string) { n.IP(t, args...) }

func (n *netns) exec(name string, args ...string) (string, error) { return n.Exec(name, args...) }

func (n *netns) do(f func() error) error { return n.Do(f) }

// conn returns an nftables connection to the namespace.
func (n *netns) conn(t *testing.T) *nftables.Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(n.FD))
	if err != nil {
		t.Fatalf("nftables connection to %s: %v", n.Name, err)
	}
	return c
}

// link joins two namespaces with a veth pair (see netnstest.Link).
func link(t *testing.T, a *netns, aAddrs []string, b *netns, bAddrs []string) {
	netnstest.Link(t, a.NS, aAddrs, b.NS, bAddrs)
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
		t.Fatalf("listen in %s: %v", n.Name, err)
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
		t.Fatalf("listen in %s: %v", n.Name, err)
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
