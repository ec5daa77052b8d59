// Package netnstest builds small test networks out of Linux network
// namespaces joined by veth pairs, for tests that apply firewall rules or
// run daemons for real. Every namespace is removed when its test ends,
// whatever happened. It needs root and iproute2's `ip`; Need skips the
// test otherwise.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Need skips the test unless it may create network namespaces.
func Need(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: network namespace tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN); `make test` runs them as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: network namespace tests need `ip` (Debian's iproute2)")
	}
}

// NS is a network namespace made for one test.
type NS struct {
	Name string
	FD   int // an open /run/netns/NAME, for setns and nftables
}

// New creates a namespace named prefix-RANDOM with loopback up. It is
// removed at the test's end; register what runs in it (with t.Cleanup)
// after New, so that it stops first.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	name := prefix + "-" + RandHex(3)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace here: ip netns add: %v: %s", err, out)
	}
	n := &NS{Name: name, FD: -1}
	t.Cleanup(func() {
		if n.FD >= 0 {
			unix.Close(n.FD)
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	n.FD = fd
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// RandHex returns n random bytes in hex, for unique names.
func RandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// IP runs `ip -n NS args...` and fails the test if it fails.
func (n *NS) IP(t testing.TB, args ...string) {
	t.Helper()
	args = append([]string{"-n", n.Name}, args...)
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Exec runs a command inside the namespace and returns its output.
func (n *NS) Exec(name string, args ...string) (string, error) {
	args = append([]string{"netns", "exec", n.Name, name}, args...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Do runs f on an OS thread that has entered the namespace. Sockets made
// in f stay in the namespace. The thread is never handed back to the
// scheduler: it ends with its goroutine.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(n.FD, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Link joins two namespaces with a veth pair, gives each end its
// addresses (IPv6 without duplicate address detection, so it works at
// once) and waits until both ends have a carrier: packets sent before are
// lost, and a lost neighbour solicitation is repeated only after a second.
func Link(t testing.TB, a *NS, aAddrs []string, b *NS, bAddrs []string) {
	t.Helper()
	ifA, ifB := "veth-"+RandHex(3), "veth-"+RandHex(3)
	out, err := exec.Command("ip", "link", "add", ifA, "netns", a.Name, "type", "veth",
		"peer", "name", ifB, "netns", b.Name).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link add veth: %v: %s", err, out)
	}
	ends := []struct {
		ns    *NS
		dev   string
		addrs []string
	}{{a, ifA, aAddrs}, {b, ifB, bAddrs}}
	for _, end := range ends {
		for _, addr := range end.addrs {
			args := []string{"addr", "add", addr, "dev", end.dev}
			if strings.Contains(addr, ":") {
				args = append(args, "nodad")
			}
			end.ns.IP(t, args...)
		}
		end.ns.IP(t, "link", "set", end.dev, "up")
	}
	for _, end := range ends {
		end.ns.waitCarrier(t, end.dev)
	}
}

// waitCarrier waits until dev has a carrier, for at most five seconds.
func (n *NS) waitCarrier(t testing.TB, dev string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out, err := exec.Command("ip", "-n", n.Name, "link", "show", "dev", dev).CombinedOutput()
		if err != nil {
			t.Fatalf("ip link show %s: %v: %s", dev, err, out)
		}
		if !strings.Contains(string(out), "NO-CARRIER") && strings.Contains(string(out), "LOWER_UP") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s has no carrier: %s", dev, n.Name, out)
		}
	}
}
