package firewall

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// runningRole is a firewall role started by a test.
type runningRole struct {
	opts   Options
	cancel context.CancelFunc
	done   chan error
}

// roleOptions returns options with the role's files in a fresh directory
// (short, for the socket's path limit) and the policy file written from p.
func roleOptions(t *testing.T, p Policy) Options {
	t.Helper()
	dir, err := os.MkdirTemp("", "fw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := Options{
		PolicyPath:   filepath.Join(dir, "policy.json"),
		SocketPath:   filepath.Join(dir, "fw.sock"),
		StatePath:    filepath.Join(dir, "state.json"),
		PollInterval: 20 * time.Millisecond,
	}
	if err := WritePolicy(o.PolicyPath, p); err != nil {
		t.Fatal(err)
	}
	return o
}

// startRole runs the role and waits until its socket answers.
func startRole(t *testing.T, o Options) *runningRole {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningRole{opts: o, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, o) }()
	t.Cleanup(func() { r.stop(t) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := Call(o.SocketPath, Request{Type: RequestBans}); err == nil {
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("role ended at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the role's socket does not answer")
		}
	}
}

// stop ends the role (once) and fails the test if Run failed.
func (r *runningRole) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func (r *runningRole) call(t *testing.T, req Request) Response {
	t.Helper()
	resp, err := Call(r.opts.SocketPath, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Type, err)
	}
	return resp
}

func office(t *testing.T) Policy { return goldenPolicies(t)["office"] }

func TestRoleDryRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	o := roleOptions(t, office(t))
	o.DryRun = true
	r := startRole(t, o)

	if got := r.call(t, Request{Type: RequestShow}).Ruleset; got != Render(office(t)) {
		t.Errorf("show:\n%s", lineDiff(Render(office(t)), got))
	}
	wan, lan := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("192.168.1.5")
	for i := 1; i <= 5; i++ {
		for _, ip := range []netip.Addr{wan, lan} {
			resp := r.call(t, Request{Type: EventAuthFailure, IP: ip, Proto: "imap", User: "bob"})
			if want := ip == wan && i == 5; resp.Banned != want {
				t.Errorf("failure %d from %v: banned %v, want %v", i, ip, resp.Banned, want)
			}
		}
	}
	bans := r.call(t, Request{Type: RequestBans}).Bans
	if len(bans) != 1 || bans[0].IP != wan || bans[0].Remaining > Duration(DefaultBanTime) {
		t.Errorf("bans = %v, want %v for at most %v", bans, wan, DefaultBanTime)
	}
	if _, err := Call(o.SocketPath, Request{Type: RequestBan, IP: lan}); err == nil || !strings.Contains(err.Error(), "never banned") {
		t.Errorf("ban of a LAN address: %v, want it refused", err)
	}
	r.call(t, Request{Type: RequestUnban, IP: wan})
	other := netip.MustParseAddr("2001:db8::7")
	r.call(t, Request{Type: RequestBan, IP: other, Duration: Duration(time.Hour)})
	if bans := r.call(t, Request{Type: RequestBans}).Bans; len(bans) != 1 || bans[0].IP != other {
		t.Errorf("after unban and ban, bans = %v, want only %v", bans, other)
	}
	r.call(t, Request{Type: RequestCounters})
	for _, bad := range []Request{{Type: "bogus"}, {Type: RequestBan}, {Type: EventAbuse}} {
		if _, err := Call(o.SocketPath, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if fi, err := os.Stat(o.SocketPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v, %v; want 0600", fi.Mode(), err)
	}
	r.stop(t)
}

func TestRoleBadLine(t *testing.T) {
	o := roleOptions(t, office(t))
	o.DryRun = true
	startRole(t, o)
	c, err := net.Dial("unix", o.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("not json\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), `"ok":false`) {
		t.Errorf("answer to a bad line: %q, %v", buf[:n], err)
	}
}

func TestRoleFollowsPolicyFile(t *testing.T) {
	o := roleOptions(t, office(t))
	o.DryRun = true
	r := startRole(t, o)

	next := goldenPolicies(t)["lan_only"]
	if err := WritePolicy(o.PolicyPath, next); err != nil {
		t.Fatal(err)
	}
	waitShow(t, r, Render(next))

	// A file that does not parse, or a policy that is not valid, is
	// refused and the previous one stays.
	for _, bad := range []string{"{not json", `{"lan":["10.0.0.0/33"]}`, `{"limits":{"smtp_burst":-1}}`} {
		if err := os.WriteFile(o.PolicyPath, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Call(o.SocketPath, Request{Type: RequestReload}); err == nil {
			t.Errorf("reload of %q: no error", bad)
		}
		if got := r.call(t, Request{Type: RequestShow}).Ruleset; got != Render(next) {
			t.Errorf("after refusing %q, show changed:\n%s", bad, lineDiff(Render(next), got))
		}
	}
}

// waitShow waits until the role shows want, for at most ten seconds.
func waitShow(t *testing.T, r *runningRole, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := Call(r.opts.SocketPath, Request{Type: RequestShow})
		if err == nil && resp.Ruleset == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the role still shows (%v):\n%s", err, lineDiff(want, resp.Ruleset))
		}
	}
}

func TestRoleStateSurvivesRestart(t *testing.T) {
	o := roleOptions(t, office(t))
	o.DryRun = true
	r := startRole(t, o)
	ip := netip.MustParseAddr("198.51.100.77")
	// A failure that bans nobody is answered at once, well within Report's
	// time limit.
	if err := Report(o.SocketPath, Event{Type: EventAuthFailure, IP: ip, Proto: "submission", User: "x"}); err != nil {
		t.Fatal(err)
	}
	for range DefaultMaxFailures - 1 {
		r.call(t, Request{Type: EventAuthFailure, IP: ip, Proto: "submission", User: "x"})
	}
	r.stop(t)

	// The policy file goes bad while the role is down: the role starts
	// with the last policy it applied, and the saved ban.
	if err := os.WriteFile(o.PolicyPath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = startRole(t, o)
	if got := r.call(t, Request{Type: RequestShow}).Ruleset; got != Render(office(t)) {
		t.Errorf("after restart, show:\n%s", lineDiff(Render(office(t)), got))
	}
	if bans := r.call(t, Request{Type: RequestBans}).Bans; len(bans) != 1 || bans[0].IP != ip {
		t.Errorf("after restart, bans = %v, want %v", bans, ip)
	}
}

func TestRoleWithoutPolicy(t *testing.T) {
	o := roleOptions(t, Policy{})
	os.Remove(o.PolicyPath)
	o.DryRun = true
	r := startRole(t, o)
	if _, err := Call(o.SocketPath, Request{Type: RequestShow}); err == nil {
		t.Error("show without a policy: no error")
	}
	if err := WritePolicy(o.PolicyPath, office(t)); err != nil {
		t.Fatal(err)
	}
	waitShow(t, r, Render(office(t)))
}

func TestReportDeadRole(t *testing.T) {
	dir, err := os.MkdirTemp("", "fw")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "fw.sock")
	ev := Event{Type: EventAuthFailure, IP: netip.MustParseAddr("203.0.113.1")}
	if err := Report(sock, ev); err == nil {
		t.Error("report without a role: no error")
	}
	// A role that accepts but never answers.
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			c.Read(make([]byte, 1024))
			time.Sleep(2 * ReportTimeout)
		}
	}()
	err = Report(sock, ev)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("report to a stuck role: %v, want a time-out", err)
	}
}
