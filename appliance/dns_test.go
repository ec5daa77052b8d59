package appliance_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"facteur/appliance"
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
	for _, want := range []string{"IN\tMX\t10 mail.example.test.", "IN\tA\t192.0.2.10", "_25._tcp.mail.example.test.", "v=DMARC1"} {
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
	facteur(t, "", "domain", "add", "-data", dir, "second.test")
	deadline := time.Now().Add(10 * time.Second)
	for askMX(t, pc.LocalAddr().String(), "second.test.") != "mail.example.test." {
		if time.Now().After(deadline) {
			t.Fatal("the new domain never appeared in DNS")
		}
		time.Sleep(50 * time.Millisecond)
	}
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
