package smtpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"facteur/internal/testcert"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Test accounts of the fake backend.
const (
	alicePass = "alice-secret-Pa55"
	bobPass   = "bob-secret-Pa55"
)

// fakeBackend is an in-memory Backend. Accounts are their own username.
type fakeBackend struct {
	// mu guards every field.
	mu         sync.Mutex
	passwords  map[string]string   // username → password
	local      map[string]bool     // addresses with a mailbox here
	domains    map[string]bool     // local domains
	sendAs     map[string][]string // account → extra sender addresses
	deliverErr error               // returned by Deliver after reading
	panicRcpt  string              // Deliver panics for this recipient
	messages   []delivery
}

type delivery struct {
	Env  Envelope
	Data string
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		passwords: map[string]string{
			"alice@example.com": alicePass,
			"bob@example.com":   bobPass,
		},
		local: map[string]bool{
			"alice@example.com":      true,
			"bob@example.com":        true,
			"postmaster@example.com": true,
			"jösé@example.com":       true,
		},
		domains: map[string]bool{"example.com": true},
		sendAs:  map[string][]string{"alice@example.com": {"sales@example.com"}},
	}
}

func (b *fakeBackend) Recipient(ctx context.Context, addr string) (RecipientKind, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	addr = strings.ToLower(addr)
	if addr == "lookup-fails@example.com" {
		return Unknown, errors.New("directory unreachable")
	}
	_, domain, _ := strings.Cut(addr, "@")
	switch {
	case !b.domains[domain]:
		return Remote, nil
	case b.local[addr]:
		return Local, nil
	}
	return Unknown, nil
}

func (b *fakeBackend) Authenticate(ctx context.Context, username, password string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if username == "broken@example.com" {
		return "", errors.New("password database unreachable")
	}
	if p, ok := b.passwords[username]; ok && p == password {
		return username, nil
	}
	return "", ErrAuthFailed
}

func (b *fakeBackend) MaySendAs(ctx context.Context, account, from string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if from == account {
		return true, nil
	}
	for _, a := range b.sendAs[account] {
		if a == from {
			return true, nil
		}
	}
	return false, nil
}

func (b *fakeBackend) Deliver(ctx context.Context, env *Envelope, body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, to := range env.To {
		if to == b.panicRcpt {
			panic("fake backend: deliberate panic")
		}
	}
	if b.deliverErr != nil {
		return b.deliverErr
	}
	b.messages = append(b.messages, delivery{Env: *env, Data: string(data)})
	return nil
}

func (b *fakeBackend) delivered() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.messages...)
}

func (b *fakeBackend) set(f func(b *fakeBackend)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

// testNow is the fake clock for Received headers.
var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// harness is a Server on three loopback listeners with a fake backend.
type harness struct {
	t    *testing.T
	srv  *Server
	be   *fakeBackend
	mx   string // listener addresses
	sub  string
	subs string
	logs syncBuffer
	errs chan error // from the Serve methods

	// mu guards authFailed.
	mu         sync.Mutex
	authFailed []string // "ip username" per AuthFailed call
}

// start runs a server until the end of the test; edit changes its options.
func start(t *testing.T, edit func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, be: newFakeBackend(), errs: make(chan error, 3)}
	opts := Options{
		Hostname:  "mx.example.com",
		TLSConfig: testCerts().server,
		Logger:    slog.New(slog.NewTextHandler(&h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       func() time.Time { return testNow },
		AuthFailed: func(remote net.Addr, username string) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.authFailed = append(h.authFailed, remoteIP(remote)+" "+username)
		},
	}
	if edit != nil {
		edit(&opts)
	}
	h.srv = NewServer(h.be, opts)
	h.mx = h.serve(h.srv.ServeMX)
	h.sub = h.serve(h.srv.ServeSubmission)
	h.subs = h.serve(h.srv.ServeSubmissions)
	t.Cleanup(h.stop)
	return h
}

func (h *harness) serve(serve func(net.Listener) error) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	go func() { h.errs <- serve(l) }()
	return l.Addr().String()
}

// stop closes the server, checks that every Serve returned ErrServerClosed
// and that no password ever reached the log.
func (h *harness) stop() {
	if err := h.srv.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	for range 3 {
		if err := <-h.errs; !errors.Is(err, ErrServerClosed) {
			h.t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	}
	logs := h.logs.String()
	for _, secret := range []string{alicePass, bobPass, "wrong-password"} {
		if strings.Contains(logs, secret) {
			h.t.Errorf("log contains the password %q", secret)
		}
	}
	if h.t.Failed() {
		h.t.Logf("server log:\n%s", logs)
	}
}

func (h *harness) authFailures() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.authFailed...)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	// mu guards b.
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// certs holds a self-signed certificate for localhost and 127.0.0.1.
type certs struct {
	server *tls.Config
	client *tls.Config // trusts the server certificate
	pem    []byte      // the certificate, for Python
}

var testCerts = sync.OnceValue(func() certs {
	p := testcert.New("mx.example.com", "localhost")
	return certs{server: p.Server, client: p.Client, pem: p.PEM}
})
