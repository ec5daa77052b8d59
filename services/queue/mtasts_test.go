package queue

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"facteur/internal/testcert"
)

// startPolicyServer serves policy at https://mta-sts.remote.test/ on
// 127.0.0.1 and returns its port.
func startPolicyServer(t *testing.T, pair *testcert.Pair, policy string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" || r.Host != "mta-sts.remote.test" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(policy))
	}), TLSConfig: pair.Server}
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

var stsZone = append([]string{
	`_mta-sts.remote.test. 60 IN TXT "v=STSv1; id=20261123"`,
	"mta-sts.remote.test. 60 IN A 127.0.0.1",
}, remoteZone...)

func stsHarness(t *testing.T, policy string, remoteTLS bool, p *Params) (*harness, *remote, uint64) {
	pair := testcert.New("mx.remote.test", "mta-sts.remote.test")
	var rpair *testcert.Pair
	if remoteTLS {
		rpair = pair
	}
	r := startRemote(t, "127.0.0.1", rpair, nil)
	d := startDNS(t, stsZone...)
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port(), RootCAs: pair.Client.RootCAs,
		HTTPSPort: startPolicyServer(t, pair, policy)})
	h.start()
	id := h.enqueue("alice@local.test", []string{"bob@remote.test"}, p, testMessage)
	return h, r, id
}

func TestMTASTSEnforceDelivers(t *testing.T) {
	h, r, _ := stsHarness(t, "version: STSv1\r\nmode: enforce\r\nmx: *.remote.test\r\nmax_age: 86400\r\n", true, nil)
	waitFor(t, "delivery", func() bool { return len(r.messages()) == 1 && h.queueLen() == 0 })
	if !r.messages()[0].TLS {
		t.Error("delivered without TLS under an enforce policy")
	}
	if _, err := h.store.Blob(context.Background(), "mtasts/remote.test"); err != nil {
		t.Errorf("policy not cached in the store: %v", err)
	}
}

func TestMTASTSEnforceRefusesUnlistedMX(t *testing.T) {
	h, r, id := stsHarness(t, "version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 86400\n", true, nil)
	waitFor(t, "a failed attempt", func() bool {
		e, err := h.store.QueueEntry(context.Background(), id)
		return err == nil && e.Attempts >= 1
	})
	e, _ := h.store.QueueEntry(context.Background(), id)
	if !strings.Contains(e.LastError, "MTA-STS") || len(r.messages()) != 0 {
		t.Errorf("last error %q, %d delivered; want a refusal by policy", e.LastError, len(r.messages()))
	}
}

func TestMTASTSEnforceNeedsTLS(t *testing.T) {
	h, r, id := stsHarness(t, "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n", false, nil)
	waitFor(t, "a failed attempt", func() bool {
		e, err := h.store.QueueEntry(context.Background(), id)
		return err == nil && e.Attempts >= 1
	})
	if len(r.messages()) != 0 {
		t.Error("delivered in plain text under an enforce policy")
	}
}

// In testing mode a plain-text MX still gets the mail.
func TestMTASTSTestingMode(t *testing.T) {
	h, r, _ := stsHarness(t, "version: STSv1\nmode: testing\nmx: mx.remote.test\nmax_age: 86400\n", false, nil)
	waitFor(t, "delivery", func() bool { return len(r.messages()) == 1 && h.queueLen() == 0 })
}

func TestRequireTLSWithPolicy(t *testing.T) {
	h, r, _ := stsHarness(t, "version: STSv1\nmode: testing\nmx: mx.remote.test\nmax_age: 86400\n", true, &Params{RequireTLS: true})
	waitFor(t, "delivery", func() bool { return len(r.messages()) == 1 && h.queueLen() == 0 })
	if m := r.messages()[0]; !m.TLS || !m.Opts.RequireTLS {
		t.Errorf("delivered %+v, want TLS and REQUIRETLS on MAIL", m)
	}
}

func TestParsePolicy(t *testing.T) {
	good := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"
	p, err := ParsePolicy([]byte(good))
	if err != nil || p.Mode != "enforce" || len(p.MX) != 2 || p.MaxAge != 604800 {
		t.Fatalf("ParsePolicy = %+v, %v", p, err)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com.": true, "a.example.net": true,
		"a.b.example.net": false, "example.net": false, "other.example.com": false,
	} {
		if p.Matches(host) != want {
			t.Errorf("Matches(%q) = %v", host, !want)
		}
	}
	for _, bad := range []string{
		"mode: enforce\nmx: a\nmax_age: 1\n",                   // no version
		"version: STSv1\nmode: sometimes\nmx: a\nmax_age: 1\n", // bad mode
		"version: STSv1\nmode: enforce\nmax_age: 1\n",          // no mx
		"version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n",  // negative
		"version: STSv1\nmode: enforce\nmx: a\nmax_age: 1e9\n", // not a number
		"version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n",
		"version: STSv1\nmode enforce\n",
	} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		if p.Mode != "none" && len(p.MX) == 0 || p.MaxAge < 0 || p.MaxAge > 31557600 {
			t.Errorf("accepted an invalid policy %+v", p)
		}
		for _, mx := range p.MX {
			p.Matches(mx)
		}
	})
}
