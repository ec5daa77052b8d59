package appliance_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"facteur/firewall/netnstest"
)

// This file runs the real roles, `facteur serve` and `facteur firewall`,
// in a network namespace of their own, between a WAN and a LAN namespace
// joined to it by veth pairs:
//
//	wan  198.51.100.2, .3 (two outside hosts)
//	  |  veth
//	box  198.51.100.1     core + firewall role (table inet facteur)
//	     10.77.0.1
//	  |  veth
//	lan  10.77.0.2        inside 10.77.0.0/24, the LAN given to setup
//
// The clients speak raw protocol lines from sockets opened inside the wan
// and lan namespaces; the admin CLI runs in the host namespace and reaches
// the daemons through their unix sockets in the data directory.

// Addresses of the test network.
var (
	fwBoxWAN = netip.MustParseAddr("198.51.100.1")
	fwBoxLAN = netip.MustParseAddr("10.77.0.1")
	fwWAN1   = netip.MustParseAddr("198.51.100.2") // guesses IMAP passwords
	fwWAN2   = netip.MustParseAddr("198.51.100.3") // guesses submission passwords
	fwLANPC  = netip.MustParseAddr("10.77.0.2")    // a user who forgot a password
)

const (
	fwLANPrefix = "10.77.0.0/24"
	fwUser      = "alice@example.test"
	fwPassword  = "alice-password-1"
	// fwBlocked is how long a probe waits before it calls a port dropped;
	// fwOpen is how long a connection that should get through may take
	// on a loaded machine.
	fwBlocked = 2 * time.Second
	fwOpen    = 10 * time.Second
	// fwSession bounds one client conversation.
	fwSession = 30 * time.Second
)

// TestFirewallBansAbuserNotLAN checks issue 5's promise end to end:
// repeated wrong passwords on IMAP or submission from one address get that
// address banned at the packet level, while a LAN address making the same
// mistakes is not banned.
func TestFirewallBansAbuserNotLAN(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it in network namespaces")
	}
	fwNeedNetNS(t)
	bin := buildFacteur(t)
	box, wan, lan := fwNewNetNS(t, "box"), fwNewNetNS(t, "wan"), fwNewNetNS(t, "lan")
	fwLink(t, box, []string{"198.51.100.1/24"}, wan, []string{"198.51.100.2/24", "198.51.100.3/24"})
	fwLink(t, box, []string{"10.77.0.1/24"}, lan, []string{"10.77.0.2/24"})

	dir := t.TempDir()
	fork := fwNewForker(t)
	core := box.start(t, fork, bin, dir, "core", "serve", "-data", dir)
	core.waitReady(t, "the control socket answers", func() error {
		c, err := net.DialTimeout("unix", filepath.Join(dir, "ctl.sock"), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	fw := box.start(t, fork, bin, dir, "firewall", "firewall", "-data", dir)
	fw.waitReady(t, "`facteur firewall bans` answers", func() error {
		_, err := fwCLI(bin, "", "firewall", "bans", "-data", dir)
		return err
	})
	fwRun(t, bin, "admin-password-1\n", "setup", "-data", dir, "-domain", "example.test",
		"-admin", "admin@example.test", "-ip", fwBoxWAN.String(), "-lan", fwLANPrefix)
	fwRun(t, bin, fwPassword+"\n", "user", "add", "-data", dir, fwUser)
	fw.waitReady(t, "the firewall applies the policy with the LAN", func() error {
		out, err := fwCLI(bin, "", "firewall", "show", "-data", dir)
		if err == nil && !strings.Contains(out, fwLANPrefix) {
			err = errors.New("ruleset without " + fwLANPrefix)
		}
		return err
	})
	core.waitReady(t, "IMAPS answers the LAN", func() error {
		c, err := lan.dial(fwLANPC, netip.AddrPortFrom(fwBoxLAN, 993), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	fwWantReach(t, wan, fwWAN1, fwBoxWAN, 25, true)

	// An outside host guesses IMAP passwords: after five it is dropped,
	// on every port, while other hosts are not. The fifth failure is the
	// third on its connection, so the server hangs up before the ban.
	fwFailIMAP(t, wan, fwWAN1, fwBoxWAN, 2)
	fwFailIMAP(t, wan, fwWAN1, fwBoxWAN, 3)
	fwWaitBans(t, bin, dir, fwWAN1)
	fwWantReach(t, wan, fwWAN1, fwBoxWAN, 993, false)
	fwWantReach(t, wan, fwWAN1, fwBoxWAN, 25, false)
	fwWantReach(t, wan, fwWAN2, fwBoxWAN, 993, true)
	fwGoodIMAPLogin(t, lan, fwLANPC, fwBoxLAN)

	// A LAN user makes the same mistakes, and more, on every login port.
	fwFailIMAP(t, lan, fwLANPC, fwBoxLAN, 3)
	fwFailIMAP(t, lan, fwLANPC, fwBoxLAN, 3)
	fwFailSubmission(t, lan, fwLANPC, fwBoxLAN, 587, 3)
	fwFailSubmission(t, lan, fwLANPC, fwBoxLAN, 465, 3)

	// A second outside host guesses submission passwords, on both ports.
	// Its ban also shows that the role has handled the LAN's reports,
	// which the core sent before.
	fwFailSubmission(t, wan, fwWAN2, fwBoxWAN, 587, 2)
	fwFailSubmission(t, wan, fwWAN2, fwBoxWAN, 465, 3)
	fwWaitBans(t, bin, dir, fwWAN1, fwWAN2)
	fwWantReach(t, wan, fwWAN2, fwBoxWAN, 587, false)
	fwWantReach(t, wan, fwWAN2, fwBoxWAN, 25, false)

	fwWantReach(t, lan, fwLANPC, fwBoxLAN, 993, true)
	fwWantReach(t, lan, fwLANPC, fwBoxLAN, 25, true)
	fwGoodIMAPLogin(t, lan, fwLANPC, fwBoxLAN)
}

// fwNeedNetNS skips the test unless it may create network namespaces.
func fwNeedNetNS(t *testing.T) { netnstest.Need(t) }

// fwNetNS is a network namespace made for one test.
type fwNetNS struct{ *netnstest.NS }

// fwNewNetNS creates a namespace with loopback up, removed at the test's
// end after everything running in it was stopped.
func fwNewNetNS(t *testing.T, role string) *fwNetNS {
	return &fwNetNS{netnstest.New(t, "fwe2e-"+role)}
}

func fwRandHex(n int) string { return netnstest.RandHex(n) }

// fwLink joins two namespaces with a veth pair, gives each end its
// addresses, and waits until both ends have a carrier.
func fwLink(t *testing.T, a *fwNetNS, aAddrs []string, b *fwNetNS, bAddrs []string) {
	netnstest.Link(t, a.NS, aAddrs, b.NS, bAddrs)
}

// dial opens a TCP connection from src inside the namespace. The socket
// is made on a thread that entered the namespace, so it lives there; the
// thread ends with its goroutine and never runs anything else.
func (n *fwNetNS) dial(src netip.Addr, dst netip.AddrPort, timeout time.Duration) (c net.Conn, err error) {
	err = n.Do(func() error {
		d := net.Dialer{Timeout: timeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		c, err = d.Dial("tcp", dst.String())
		return err
	})
	return c, err
}

// fwForker starts processes from one OS thread kept until the test's end.
// The kernel sends a child its Pdeathsig when the thread that forked it
// exits, not the process, and Go ends a thread whenever a goroutine locked
// to it returns, as dial's do: a daemon forked from an ordinary thread
// could be killed in the middle of the test.
type fwForker chan func()

// fwNewForker returns a forker whose thread ends, killing whatever it
// started that is still running, once the test's later cleanups are done.
func fwNewForker(t *testing.T) fwForker {
	f := make(fwForker)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for fn := range f {
			fn()
		}
	}()
	t.Cleanup(func() { close(f) })
	return f
}

// start runs cmd.Start on the forker's thread.
func (f fwForker) start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	f <- func() { errc <- cmd.Start() }
	return <-errc
}

// fwDaemon is a role of the binary running in the box namespace.
type fwDaemon struct {
	name string
	cmd  *exec.Cmd
	log  string        // its stdout and stderr
	done chan struct{} // closed once it has exited
}

// start runs `bin args...` inside the namespace. It is stopped (SIGTERM,
// then SIGKILL) at the test's end, and killed by the kernel if the test
// process or fork's thread ends first. Its log is shown if the test failed.
func (n *fwNetNS) start(t *testing.T, fork fwForker, bin, dir, name string, args ...string) *fwDaemon {
	t.Helper()
	d := &fwDaemon{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// `ip netns exec` enters the namespace and execs bin in the same
	// process, so Pdeathsig and the signals below reach the daemon.
	d.cmd = exec.Command("ip", append([]string{"netns", "exec", n.Name, bin}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := fork.start(d.cmd); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(d.log)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return d
}

// stop ends the daemon: SIGTERM, and SIGKILL if it has not exited after
// fifteen seconds (the core gives its connections ten to end). How long
// it takes is not this test's business.
func (d *fwDaemon) stop(t *testing.T) {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Logf("%s did not stop within 15s of SIGTERM; killing it", d.name)
		d.cmd.Process.Kill()
		<-d.done
	}
}

// waitReady waits up to 30s for ready to return nil, and fails the test
// at once if the daemon exits.
func (d *fwDaemon) waitReady(t *testing.T, what string, ready func() error) {
	t.Helper()
	fwWaitFor(t, what, 30*time.Second, func() error {
		select {
		case <-d.done:
			return fmt.Errorf("%s exited: %v", d.name, d.cmd.ProcessState)
		default:
		}
		return ready()
	})
}

// fwWaitFor polls cond until it returns nil, for at most timeout.
func fwWaitFor(t *testing.T, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fwCLI runs an admin command of the binary in the host namespace.
func fwCLI(bin, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("facteur %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

func fwRun(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	out, err := fwCLI(bin, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fwWaitBans waits until `facteur firewall bans` lists exactly want. A
// wrong address in the list never goes away, so the wait then fails.
func fwWaitBans(t *testing.T, bin, dir string, want ...netip.Addr) {
	t.Helper()
	var wantS []string
	for _, ip := range want {
		wantS = append(wantS, ip.String())
	}
	fwWaitFor(t, "bans "+strings.Join(wantS, ", "), 15*time.Second, func() error {
		out, err := fwCLI(bin, "", "firewall", "bans", "-data", dir)
		if err != nil {
			return err
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] { // after the header
			if f := strings.Fields(line); len(f) > 0 {
				got = append(got, f[0])
			}
		}
		slices.Sort(got)
		if slices.Contains(got, fwLANPC.String()) {
			t.Fatalf("the LAN address %s is banned (bans: %v)", fwLANPC, got)
		}
		if !slices.Equal(got, wantS) {
			return fmt.Errorf("got bans %v, want %v", got, wantS)
		}
		return nil
	})
}

// fwWantReach checks that a new TCP connection from src to dst:port gets
// through, or, when it should not, that it times out (a drop, not a
// refusal).
func fwWantReach(t *testing.T, ns *fwNetNS, src, dst netip.Addr, port uint16, want bool) {
	t.Helper()
	wait := fwOpen
	if !want {
		wait = fwBlocked
	}
	c, err := ns.dial(src, netip.AddrPortFrom(dst, port), wait)
	var ne net.Error
	switch {
	case err == nil:
		c.Close()
		if !want {
			t.Errorf("%s -> %s:%d: connected, want a drop (time-out after %v)", src, dst, port, wait)
		}
	case want:
		t.Errorf("%s -> %s:%d: %v, want a connection", src, dst, port, err)
	case !errors.As(err, &ne) || !ne.Timeout():
		t.Errorf("%s -> %s:%d: %v, want a drop (time-out after %v)", src, dst, port, err, wait)
	}
}

// fwClient is one client connection, spoken to in protocol lines.
type fwClient struct {
	t    *testing.T
	name string // "src -> dst:port", for messages
	c    net.Conn
	r    *bufio.Reader
}

func fwDial(t *testing.T, ns *fwNetNS, src, dst netip.Addr, port uint16) *fwClient {
	t.Helper()
	cl := &fwClient{t: t, name: fmt.Sprintf("%s -> %s:%d", src, dst, port)}
	c, err := ns.dial(src, netip.AddrPortFrom(dst, port), fwOpen)
	if err != nil {
		t.Fatalf("%s: %v", cl.name, err)
	}
	c.SetDeadline(time.Now().Add(fwSession))
	cl.c, cl.r = c, bufio.NewReader(c)
	return cl
}

// startTLS runs the TLS handshake on the connection (the box's
// certificate is self-signed).
func (cl *fwClient) startTLS() {
	cl.t.Helper()
	tc := tls.Client(cl.c, &tls.Config{ServerName: "mail.example.test", InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		cl.t.Fatalf("%s: TLS handshake: %v", cl.name, err)
	}
	cl.c, cl.r = tc, bufio.NewReader(tc)
}

func (cl *fwClient) send(line string) {
	cl.t.Helper()
	if _, err := fmt.Fprintf(cl.c, "%s\r\n", line); err != nil {
		cl.t.Fatalf("%s: send %q: %v", cl.name, line, err)
	}
}

// readLine returns the next line without its CRLF.
func (cl *fwClient) readLine() (string, error) {
	line, err := cl.r.ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

func (cl *fwClient) close() { cl.c.Close() }

// imapCmd sends a tagged command and returns the server's verdict: the
// tagged status (OK, NO, BAD), or BYE if the server hung up instead.
func (cl *fwClient) imapCmd(tag, cmd string) string {
	cl.t.Helper()
	cl.send(tag + " " + cmd)
	for {
		line, err := cl.readLine()
		switch {
		case strings.HasPrefix(line, tag+" "):
			status, _, _ := strings.Cut(strings.TrimPrefix(line, tag+" "), " ")
			return status
		case strings.HasPrefix(line, "* BYE"):
			return "BYE"
		case err != nil:
			cl.t.Fatalf("%s: %s %s: no answer: %v", cl.name, tag, strings.Fields(cmd)[0], err)
		}
	}
}

// expectGreeting reads the IMAP server's greeting.
func (cl *fwClient) expectGreeting() {
	cl.t.Helper()
	if line, err := cl.readLine(); !strings.HasPrefix(line, "* OK") {
		cl.t.Fatalf("%s: IMAP greeting %q (%v), want * OK", cl.name, line, err)
	}
}

// fwFailIMAP makes n (at most three, the server's limit per connection)
// logins with a wrong password from src over IMAPS, on one connection.
// After the third the server hangs up; before, the client logs out. So no
// connection is left open on the server when the source is banned, with
// its packets dropped.
func fwFailIMAP(t *testing.T, ns *fwNetNS, src, dst netip.Addr, n int) {
	t.Helper()
	cl := fwDial(t, ns, src, dst, 993)
	defer cl.close()
	cl.startTLS()
	cl.expectGreeting()
	for i := range n {
		got := cl.imapCmd(fmt.Sprintf("a%d", i), `LOGIN "`+fwUser+`" "wrong-password"`)
		switch {
		case got == "NO" && i < 2, got == "BYE" && i == 2:
		default:
			t.Fatalf("%s: LOGIN number %d with a wrong password: got %s, want NO, or BYE after the third", cl.name, i+1, got)
		}
	}
	if n < 3 {
		if got := cl.imapCmd("z", "LOGOUT"); got != "OK" && got != "BYE" {
			t.Fatalf("%s: LOGOUT: got %s, want OK", cl.name, got)
		}
	}
}

// fwGoodIMAPLogin logs in with the right password over IMAPS.
func fwGoodIMAPLogin(t *testing.T, ns *fwNetNS, src, dst netip.Addr) {
	t.Helper()
	cl := fwDial(t, ns, src, dst, 993)
	defer cl.close()
	cl.startTLS()
	cl.expectGreeting()
	if got := cl.imapCmd("a1", `LOGIN "`+fwUser+`" "`+fwPassword+`"`); got != "OK" {
		t.Fatalf("%s: LOGIN with the right password: got %s, want OK", cl.name, got)
	}
	if got := cl.imapCmd("a2", "LOGOUT"); got != "OK" && got != "BYE" {
		t.Errorf("%s: LOGOUT: got %s, want OK", cl.name, got)
	}
}

// smtpCmd sends line (unless empty) and checks the reply's code.
func (cl *fwClient) smtpCmd(line, want string) {
	cl.t.Helper()
	if line != "" {
		cl.send(line)
	}
	for {
		reply, err := cl.readLine()
		if err != nil {
			cl.t.Fatalf("%s: %q: no reply: %v", cl.name, line, err)
		}
		if len(reply) >= 4 && reply[3] == '-' {
			continue // a line of a multi-line reply
		}
		if !strings.HasPrefix(reply, want) {
			cl.t.Fatalf("%s: %q: got %q, want %s", cl.name, line, reply, want)
		}
		return
	}
}

// fwFailSubmission makes n (at most three, the server's limit per
// connection) AUTH PLAIN attempts with a wrong password from src, on port
// 587 after STARTTLS or on 465 over implicit TLS. As in fwFailIMAP, the
// client quits unless the server hangs up.
func fwFailSubmission(t *testing.T, ns *fwNetNS, src, dst netip.Addr, port uint16, n int) {
	t.Helper()
	cl := fwDial(t, ns, src, dst, port)
	defer cl.close()
	if port == 465 {
		cl.startTLS()
	}
	cl.smtpCmd("", "220")
	cl.smtpCmd("EHLO client.example.net", "250")
	if port == 587 {
		cl.smtpCmd("STARTTLS", "220")
		cl.startTLS()
		cl.smtpCmd("EHLO client.example.net", "250")
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + fwUser + "\x00wrong-password"))
	for range n {
		cl.smtpCmd("AUTH PLAIN "+resp, "535")
	}
	if n < 3 {
		cl.smtpCmd("QUIT", "221")
	}
}
