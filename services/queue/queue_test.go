package queue

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"facteur/internal/testcert"
)

// remoteZone makes remote.test's MX point at 127.0.0.1.
var remoteZone = []string{
	"remote.test. 60 IN MX 10 mx.remote.test.",
	"mx.remote.test. 60 IN A 127.0.0.1",
}

func TestDeliverOverSTARTTLS(t *testing.T) {
	pair := testcert.New("mx.remote.test")
	r := startRemote(t, "127.0.0.1", pair, nil)
	d := startDNS(t, remoteZone...)
	var signed atomic.Int32
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port(), LocalAddr: net.IPv4(127, 0, 0, 1),
		Sign: func(ctx context.Context, from string, msg io.Reader) (string, error) {
			b, _ := io.ReadAll(msg)
			if !strings.Contains(string(b), "Hello Bob.") {
				t.Errorf("Sign read %q", b)
			}
			signed.Add(1)
			return "DKIM-Signature: test\r\n", nil
		}})
	h.start()
	p := &Params{EnvID: "env-1", Ret: "HDRS", Rcpts: map[string]RcptParam{
		"bob@remote.test": {Notify: []string{"FAILURE"}, ORcpt: "rfc822;bob@remote.test"},
	}}
	h.enqueue("alice@local.test", []string{"bob@remote.test", "carol@remote.test"}, p, testMessage)
	waitFor(t, "delivery", func() bool { return len(r.messages()) == 1 && h.queueLen() == 0 })
	m := r.messages()[0]
	if !m.TLS {
		t.Error("delivered without TLS although STARTTLS was offered")
	}
	if m.From != "alice@local.test" || len(m.To) != 2 {
		t.Errorf("envelope %s → %v, want one transaction for both recipients", m.From, m.To)
	}
	if !strings.HasPrefix(m.Data, "DKIM-Signature: test\r\nFrom: alice@local.test") || signed.Load() != 1 {
		t.Errorf("data %q: want the signature prepended, signed once", m.Data[:min(60, len(m.Data))])
	}
	if m.Opts.EnvelopeID != "env-1" || m.Opts.Return != "HDRS" {
		t.Errorf("MAIL options %+v, want ENVID and RET passed on", m.Opts)
	}
	if len(m.RcptOps) == 0 || len(m.RcptOps[0].Notify) != 1 || m.RcptOps[0].OriginalRecipient != "bob@remote.test" {
		t.Errorf("RCPT options %+v, want NOTIFY and ORCPT passed on", m.RcptOps)
	}
	select {
	case b := <-h.bounces:
		t.Errorf("unexpected report to %s", b.To)
	default:
	}
}

func TestUnknownUserBounces(t *testing.T) {
	r := startRemote(t, "127.0.0.1", nil, func(r *remote) { r.reject["nobody@remote.test"] = "550" })
	d := startDNS(t, remoteZone...)
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port()})
	h.start()
	h.enqueue("alice@local.test", []string{"nobody@remote.test", "bob@remote.test"}, nil, testMessage)
	b := h.nextBounce()
	if b.To != "alice@local.test" {
		t.Errorf("report sent to %q", b.To)
	}
	rep, err := ParseReport(strings.NewReader(string(b.Msg)))
	if err != nil {
		t.Fatalf("our DSN does not parse: %v\n%s", err, b.Msg)
	}
	if len(rep.Rcpts) != 1 || rep.Rcpts[0].Final != "nobody@remote.test" || rep.Rcpts[0].Action != "failed" ||
		rep.Rcpts[0].Status != "5.1.1" || !strings.Contains(rep.Rcpts[0].Diagnostic, "550") ||
		rep.Rcpts[0].RemoteMTA != "mx.remote.test" || rep.ReportingMTA != "mail.local.test" {
		t.Errorf("report %+v", rep)
	}
	for _, want := range []string{"From: Mail Delivery System <MAILER-DAEMON@mail.local.test>", "Auto-Submitted: auto-replied",
		"text/rfc822-headers", "Subject: hello", "Message-ID: <m1@local.test>"} {
		if !strings.Contains(string(b.Msg), want) {
			t.Errorf("DSN lacks %q", want)
		}
	}
	if strings.Contains(string(b.Msg), "Hello Bob.") {
		t.Error("DSN returns the body without RET=FULL")
	}
	waitFor(t, "queue empty", func() bool { return h.queueLen() == 0 })
	if got := r.messages(); len(got) != 1 || got[0].To[0] != "bob@remote.test" {
		t.Errorf("remote got %+v, want bob's copy only", got)
	}
}

func TestRetryUntilRemoteComesBack(t *testing.T) {
	r := startRemote(t, "127.0.0.1", nil, func(r *remote) { r.tempAll = true })
	d := startDNS(t, remoteZone...)
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port(), RetryBase: 100 * time.Millisecond, RetryMax: 400 * time.Millisecond})
	h.start()
	id := h.enqueue("alice@local.test", []string{"bob@remote.test"}, nil, testMessage)
	waitFor(t, "two failed attempts", func() bool {
		e, err := h.store.QueueEntry(context.Background(), id)
		return err == nil && e.Attempts >= 2
	})
	e, _ := h.store.QueueEntry(context.Background(), id)
	if !strings.Contains(e.LastError, "421") || e.NextAttempt.Before(e.Created) {
		t.Errorf("entry after failures: %+v", e)
	}
	r.mu.Lock()
	r.tempAll = false
	r.mu.Unlock()
	waitFor(t, "delivery after recovery", func() bool { return len(r.messages()) == 1 && h.queueLen() == 0 })
	if len(h.bounces) != 0 {
		t.Error("a report was sent for a message that got through")
	}
}

func TestBackoffGrows(t *testing.T) {
	q := New(Options{})
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute, 4 * time.Hour, 4 * time.Hour}
	for i, w := range want {
		if got := q.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestNullMX(t *testing.T) {
	d := startDNS(t, "nomail.test. 60 IN MX 0 .")
	h := newHarness(t, Options{Resolver: d.resolver()})
	h.start()
	h.enqueue("alice@local.test", []string{"x@nomail.test"}, nil, testMessage)
	rep, err := ParseReport(strings.NewReader(string(h.nextBounce().Msg)))
	if err != nil || rep.Rcpts[0].Status != "5.1.10" {
		t.Errorf("report %+v, %v; want 5.1.10", rep, err)
	}
}

func TestNoDomain(t *testing.T) {
	d := startDNS(t)
	h := newHarness(t, Options{Resolver: d.resolver()})
	h.start()
	h.enqueue("alice@local.test", []string{"x@missing.test"}, nil, testMessage)
	rep, err := ParseReport(strings.NewReader(string(h.nextBounce().Msg)))
	if err != nil || rep.Rcpts[0].Status != "5.1.2" {
		t.Errorf("report %+v, %v; want 5.1.2", rep, err)
	}
}

// A domain without MX is delivered to its own address (RFC 5321 5.1).
func TestImplicitMX(t *testing.T) {
	r := startRemote(t, "127.0.0.1", nil, nil)
	d := startDNS(t, "plain.test. 60 IN A 127.0.0.1")
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port()})
	h.start()
	h.enqueue("alice@local.test", []string{"x@plain.test"}, nil, testMessage)
	waitFor(t, "delivery", func() bool { return len(r.messages()) == 1 })
}

// A bounce (null sender) that fails is dropped, not bounced.
func TestNoBounceToBounce(t *testing.T) {
	r := startRemote(t, "127.0.0.1", nil, func(r *remote) { r.reject["nobody@remote.test"] = "550" })
	d := startDNS(t, remoteZone...)
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port()})
	h.start()
	h.enqueue("", []string{"nobody@remote.test"}, nil, testMessage)
	waitFor(t, "queue empty", func() bool { return h.queueLen() == 0 })
	if len(h.bounces) != 0 {
		t.Error("a bounce was bounced")
	}
}

func TestDelayWarningThenExpiry(t *testing.T) {
	d := startDNS(t, remoteZone...)
	// Nothing listens on the port: every attempt fails temporarily.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	h := newHarness(t, Options{Resolver: d.resolver(), Port: port, RetryBase: 50 * time.Millisecond,
		WarnAfter: time.Nanosecond, MaxAge: 2 * time.Second})
	h.start()
	h.enqueue("alice@local.test", []string{"bob@remote.test"}, nil, testMessage)
	warn, err := ParseReport(strings.NewReader(string(h.nextBounce().Msg)))
	if err != nil || warn.Rcpts[0].Action != "delayed" || warn.Rcpts[0].WillRetryUntil.IsZero() {
		t.Fatalf("first report %+v, %v; want a delay warning", warn, err)
	}
	final, err := ParseReport(strings.NewReader(string(h.nextBounce().Msg)))
	if err != nil || final.Rcpts[0].Action != "failed" || final.Rcpts[0].Status != "5.4.7" {
		t.Fatalf("second report %+v, %v; want failed 5.4.7", final, err)
	}
	waitFor(t, "queue empty", func() bool { return h.queueLen() == 0 })
	if len(h.bounces) != 0 {
		t.Error("more than one delay warning or failure report")
	}
}

func TestPerDomainConcurrency(t *testing.T) {
	r := startRemote(t, "127.0.0.1", nil, nil)
	d := startDNS(t, remoteZone...)
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port(), PerDomain: 2})
	for i := 0; i < 20; i++ {
		h.enqueue("alice@local.test", []string{"bob@remote.test"}, nil, testMessage)
	}
	h.start()
	waitFor(t, "20 deliveries", func() bool { return len(r.messages()) == 20 && h.queueLen() == 0 })
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.maxConns > 2 {
		t.Errorf("%d connections to one domain at once, limit 2", r.maxConns)
	}
}

func TestSmarthost(t *testing.T) {
	pair := testcert.New("relay.remote.test")
	r := startRemote(t, "127.0.0.1", pair, func(r *remote) { r.needAuth = true })
	d := startDNS(t, "relay.remote.test. 60 IN A 127.0.0.1")
	h := newHarness(t, Options{Resolver: d.resolver(), RootCAs: pair.Client.RootCAs,
		Smarthost: &Smarthost{Host: "relay.remote.test", Port: r.port(), Username: "relay@remote.test", Password: "relay-password"}})
	h.start()
	// Two domains, neither with DNS of its own: the relay takes both.
	h.enqueue("alice@local.test", []string{"x@one.test", "y@two.test"}, nil, testMessage)
	waitFor(t, "relayed", func() bool { return len(r.messages()) == 1 && h.queueLen() == 0 })
	if m := r.messages()[0]; !m.TLS || len(m.To) != 2 {
		t.Errorf("relayed %+v, want one TLS transaction with both recipients", m)
	}
}

func TestSmarthostBadPasswordRetries(t *testing.T) {
	pair := testcert.New("relay.remote.test")
	r := startRemote(t, "127.0.0.1", pair, func(r *remote) { r.needAuth = true })
	d := startDNS(t, "relay.remote.test. 60 IN A 127.0.0.1")
	h := newHarness(t, Options{Resolver: d.resolver(), RootCAs: pair.Client.RootCAs,
		Smarthost: &Smarthost{Host: "relay.remote.test", Port: r.port(), Username: "relay@remote.test", Password: "wrong"}})
	h.start()
	id := h.enqueue("alice@local.test", []string{"x@one.test"}, nil, testMessage)
	waitFor(t, "a failed attempt", func() bool {
		e, err := h.store.QueueEntry(context.Background(), id)
		return err == nil && e.Attempts >= 1
	})
	if len(r.messages()) != 0 || len(h.bounces) != 0 {
		t.Error("relayed without authentication, or bounced on an auth failure")
	}
}

// With an untrusted certificate the smarthost is not used.
func TestSmarthostVerifiesCertificate(t *testing.T) {
	pair := testcert.New("relay.remote.test")
	r := startRemote(t, "127.0.0.1", pair, func(r *remote) { r.needAuth = true })
	d := startDNS(t, "relay.remote.test. 60 IN A 127.0.0.1")
	h := newHarness(t, Options{Resolver: d.resolver(),
		Smarthost: &Smarthost{Host: "relay.remote.test", Port: r.port(), Username: "relay@remote.test", Password: "relay-password"}})
	h.start()
	id := h.enqueue("alice@local.test", []string{"x@one.test"}, nil, testMessage)
	waitFor(t, "a failed attempt", func() bool {
		e, err := h.store.QueueEntry(context.Background(), id)
		return err == nil && e.Attempts >= 1 && strings.Contains(e.LastError, "certificate")
	})
	if len(r.messages()) != 0 {
		t.Error("relayed to a server whose certificate is not trusted")
	}
}

func TestRequireTLSWithoutPolicyBounces(t *testing.T) {
	r := startRemote(t, "127.0.0.1", testcert.New("mx.remote.test"), nil)
	d := startDNS(t, remoteZone...)
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port()})
	h.start()
	h.enqueue("alice@local.test", []string{"bob@remote.test"}, &Params{RequireTLS: true}, testMessage)
	rep, err := ParseReport(strings.NewReader(string(h.nextBounce().Msg)))
	if err != nil || rep.Rcpts[0].Status != "5.7.30" {
		t.Errorf("report %+v, %v; want 5.7.30", rep, err)
	}
	if len(r.messages()) != 0 {
		t.Error("REQUIRETLS message sent to an unauthenticated MX")
	}
}

// An address that needs SMTPUTF8 goes to a server that offers it with
// SMTPUTF8 on MAIL, and bounces (5.6.7) at one that does not.
func TestSMTPUTF8(t *testing.T) {
	d := startDNS(t, append(remoteZone,
		"ascii.test. 60 IN MX 10 mx.ascii.test.", "mx.ascii.test. 60 IN A 127.0.0.2")...)
	r := startRemote(t, "127.0.0.1", nil, nil)
	old := startRemoteOn(t, "127.0.0.2", r.port()) // the queue has one port for all
	h := newHarness(t, Options{Resolver: d.resolver(), Port: r.port()})
	h.start()
	h.enqueue("alice@local.test", []string{"jösé@remote.test"}, &Params{UTF8: true}, testMessage)
	waitFor(t, "delivery", func() bool { return len(r.messages()) == 1 })
	if m := r.messages()[0]; !m.Opts.UTF8 {
		t.Error("SMTPUTF8 not given on MAIL for a UTF-8 recipient")
	}
	h.enqueue("alice@local.test", []string{"jösé@ascii.test"}, &Params{UTF8: true}, testMessage)
	rep, err := ParseReport(strings.NewReader(string(h.nextBounce().Msg)))
	if err != nil || rep.Rcpts[0].Status != "5.6.7" {
		t.Errorf("report %+v, %v; want 5.6.7", rep, err)
	}
	if len(old.messages()) != 0 {
		t.Error("UTF-8 address sent to a server without SMTPUTF8")
	}
}
