package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur/internal/testcert"
	"facteur/internal/zonedns"
	"facteur/services/mailstore"
)

// dnsServer answers from a fixed set of records over real UDP and TCP on
// loopback.
type dnsServer struct {
	zonedns.Server
	addr string
}

func startDNS(t *testing.T, zone ...string) *dnsServer {
	t.Helper()
	s := &dnsServer{}
	if err := s.Load(strings.Join(zone, "\n") + "\n"); err != nil {
		t.Fatalf("records %q: %v", zone, err)
	}
	addr, stop, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	s.addr = addr
	return s
}

func (s *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.addr)
	}}
}

// remote is another mail server: go-smtp with a recording backend.
type remote struct {
	mu        sync.Mutex
	msgs      []received
	reject    map[string]string // rcpt → "550" or "450"
	tempAll   bool
	needAuth  bool
	noUTF8    bool
	conns     int // open sessions now
	maxConns  int // the most open at once
	addr      string
	srv       *smtp.Server
	tlsConfig *tls.Config
}

type received struct {
	From    string
	To      []string
	Data    string
	TLS     bool
	Opts    smtp.MailOptions
	RcptOps []smtp.RcptOptions
}

func startRemote(t *testing.T, ip string, pair *testcert.Pair, edit func(*remote)) *remote {
	t.Helper()
	return startRemoteAt(t, ip+":0", pair, edit)
}

// startRemoteOn starts a plain server without SMTPUTF8 on ip:port.
func startRemoteOn(t *testing.T, ip string, port int) *remote {
	return startRemoteAt(t, net.JoinHostPort(ip, strconv.Itoa(port)), nil, func(r *remote) { r.noUTF8 = true })
}

func startRemoteAt(t *testing.T, addr string, pair *testcert.Pair, edit func(*remote)) *remote {
	t.Helper()
	r := &remote{reject: map[string]string{}}
	if pair != nil {
		r.tlsConfig = pair.Server
	}
	if edit != nil {
		edit(r)
	}
	r.srv = smtp.NewServer(r)
	r.srv.Domain = "remote.test"
	r.srv.TLSConfig = r.tlsConfig
	r.srv.EnableDSN = true
	r.srv.EnableREQUIRETLS = true
	r.srv.EnableSMTPUTF8 = !r.noUTF8
	r.srv.AllowInsecureAuth = false
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	go r.srv.Serve(l)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *remote) port() int {
	_, p, _ := net.SplitHostPort(r.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (r *remote) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

func (r *remote) NewSession(c *smtp.Conn) (smtp.Session, error) {
	r.mu.Lock()
	r.conns++
	r.maxConns = max(r.maxConns, r.conns)
	r.mu.Unlock()
	s := &rsession{r: r}
	if st, ok := c.TLSConnectionState(); ok && st.HandshakeComplete {
		s.tls = true
	}
	s.conn = c
	return s, nil
}

type rsession struct {
	r      *remote
	conn   *smtp.Conn
	tls    bool
	authed bool
	cur    received
}

func (s *rsession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *rsession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "relay@remote.test" || password != "relay-password" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *rsession) Mail(from string, opts *smtp.MailOptions) error {
	if s.r.needAuth && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "auth first"}
	}
	s.r.mu.Lock()
	temp := s.r.tempAll
	s.r.mu.Unlock()
	if temp {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "try later"}
	}
	s.cur = received{From: from}
	if opts != nil {
		s.cur.Opts = *opts
	}
	_, s.cur.TLS = s.conn.TLSConnectionState()
	return nil
}

func (s *rsession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.r.mu.Lock()
	code := s.r.reject[to]
	s.r.mu.Unlock()
	switch code {
	case "550":
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	case "450":
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}
	}
	s.cur.To = append(s.cur.To, to)
	if opts != nil {
		s.cur.RcptOps = append(s.cur.RcptOps, *opts)
	}
	return nil
}

func (s *rsession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.cur)
	s.r.mu.Unlock()
	return nil
}

func (s *rsession) Reset() {}
func (s *rsession) Logout() error {
	s.r.mu.Lock()
	s.r.conns--
	s.r.mu.Unlock()
	return nil
}

// harness is a store with a queue delivering it.
type harness struct {
	t       *testing.T
	store   *mailstore.Store
	q       *Queue
	bounces chan bounce
	cancel  func()
	done    chan struct{}
}

type bounce struct {
	To  string
	Msg []byte
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	store, err := mailstore.Open(t.TempDir(), mailstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{t: t, store: store, bounces: make(chan bounce, 100)}
	opts.Store = store
	if opts.Hostname == "" {
		opts.Hostname = "mail.local.test"
	}
	opts.Bounce = func(ctx context.Context, to string, msg []byte) error {
		h.bounces <- bounce{to, msg}
		return nil
	}
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	h.q = New(opts)
	return h
}

// start runs the queue until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { h.q.Run(ctx); close(h.done) }()
	h.t.Cleanup(func() { cancel(); <-h.done })
}

// enqueue stores a message for remote recipients.
func (h *harness) enqueue(from string, to []string, p *Params, body string) uint64 {
	h.t.Helper()
	out := &mailstore.Outbound{From: from, To: to}
	if p != nil {
		out.Extra = p.Marshal()
	}
	if _, err := h.store.Deliver(context.Background(), time.Now(), nil, out, strings.NewReader(body)); err != nil {
		h.t.Fatal(err)
	}
	q, err := h.store.Queue(context.Background())
	if err != nil || len(q) == 0 {
		h.t.Fatalf("queue after enqueue: %v %v", q, err)
	}
	h.q.Kick()
	return q[len(q)-1].ID
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (h *harness) queueLen() int {
	n, err := h.store.QueueLen(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) nextBounce() bounce {
	h.t.Helper()
	select {
	case b := <-h.bounces:
		return b
	case <-time.After(20 * time.Second):
		h.t.Fatal("no bounce")
	}
	return bounce{}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

const testMessage = "From: alice@local.test\r\nTo: bob@remote.test\r\nSubject: hello\r\nMessage-ID: <m1@local.test>\r\n\r\nHello Bob.\r\n"
