package appliance_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"facteur/appliance"
	"facteur/appliance/cli"
	"facteur/resolver"

	"github.com/miekg/dns"
)

// TestDNSFollowsTheCore: the zones the core writes are what `facteur dns
// records` prints and what the dns role answers, and a new domain shows
// up without restarting the role.
func TestDNSFollowsTheCore(t *testing.T) {
	dir := t.TempDir()
	startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-domain", "example.test", "-admin", "admin@example.test", "-ip", "192.0.2.10")
	out := facteur(t, "", "dns", "records", "-data", dir, "example.test")
	for _, want := range []string{"IN\tMX\t10 mail.example.test.", "IN\tA\t192.0.2.10", "_25._tcp.mail.example.test.", "v=DMARC1", "CAA\t0 issue \"letsencrypt.org\""} {
		if !strings.Contains(out, want) {
			t.Errorf("dns records lacks %q:\n%s", want, out)
		}
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- resolver.Run(ctx, resolver.Options{SnapshotPath: appliance.ZonesPath(dir), PacketConns: []net.PacketConn{pc}, PollInterval: 100 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()

	if got := askMX(t, pc.LocalAddr().String(), "example.test."); got != "mail.example.test." {
		t.Errorf("MX example.test = %q, want mail.example.test.", got)
	}
	// Records added by hand stay in the zone; broken ones are refused.
	facteur(t, "", "dns", "add", "-data", dir, "example.test", "www 300 IN A 192.0.2.80")
	facteur(t, "", "dns", "secondary", "add", "-data", dir, "example.test", "192.0.2.53", "xfr-key.", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
	if code := cli.Main([]string{"dns", "add", "-data", dir, "example.test", "* IN A 192.0.2.1"}, quietEnv()); code == 0 {
		t.Error("a wildcard record was accepted")
	}
	out = facteur(t, "", "dns", "records", "-data", dir, "example.test")
	if !strings.Contains(out, "www.example.test.\t300\tIN\tA\t192.0.2.80") {
		t.Errorf("hand-added record missing:\n%s", out)
	}
	facteur(t, "", "domain", "add", "-data", dir, "second.test")
	deadline := time.Now().Add(10 * time.Second)
	for askMX(t, pc.LocalAddr().String(), "second.test.") != "mail.example.test." {
		if time.Now().After(deadline) {
			t.Fatal("the new domain never appeared in DNS")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func quietEnv() cli.Env {
	return cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
}

func askMX(t *testing.T, server, name string) string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeMX)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, server)
	if err != nil {
		return "" // not ours yet: the recursive side has no internet to ask
	}
	for _, rr := range r.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			return mx.Mx
		}
	}
	return ""
}

// TestDNSLANSide: static LAN hosts and forwarding, set with the CLI, are
// answered by the dns role to LAN (here loopback) clients.
func TestDNSLANSide(t *testing.T) {
	dir := t.TempDir()
	startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-domain", "example.test", "-admin", "admin@example.test")

	// A stand-in for the ISP's resolver.
	upstream, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	isp := &dns.Server{PacketConn: upstream, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.99")
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	go isp.ActivateAndServe()
	defer isp.Shutdown()

	facteur(t, "", "dns", "host", "-data", dir, "printer.office.lan", "10.0.0.9")
	facteur(t, "", "dns", "forwarders", "-data", dir, upstream.LocalAddr().String())

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- resolver.Run(ctx, resolver.Options{SnapshotPath: appliance.ZonesPath(dir), PacketConns: []net.PacketConn{pc}})
	}()
	defer func() { cancel(); <-done }()
	for name, want := range map[string]string{"printer.office.lan.": "10.0.0.9", "www.outside.example.": "192.0.2.99"} {
		if got := askA(t, pc.LocalAddr().String(), name); got != want {
			t.Errorf("A %s = %q, want %s", name, got, want)
		}
	}
}

func askA(t *testing.T, server, name string) string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return ""
}
