package imapd

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestShutdownEndsSessions(t *testing.T) {
	e := newEnv(t)
	idle := e.selected(t, alice, "INBOX")
	idle.send("a1 IDLE")
	idle.readLine()
	appending := e.login(t, alice)
	appending.send("a1 APPEND INBOX {100}")
	appending.readLine() // + : the server waits for the literal
	quiet := e.dialTLS(t)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for name, c := range map[string]*client{"idle": idle, "appending": appending, "quiet": quiet} {
		if !c.eof() {
			t.Errorf("%s connection still open after Shutdown", name)
		}
	}
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
	// The half-sent APPEND stored nothing.
	m, err := e.store.MailboxByName(context.Background(), e.ids[alice], "INBOX")
	if err != nil || m.Messages != 0 {
		t.Errorf("INBOX after an interrupted APPEND: got %v messages (err %v), want 0", m.Messages, err)
	}
}

func TestShutdownGivesUp(t *testing.T) {
	e := newEnv(t)
	c := e.selected(t, alice, "INBOX")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// With ctx already done, Shutdown may not wait; it still closes.
	if err := e.srv.Shutdown(ctx); err != nil && !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Shutdown: got %v, want nil or a context error", err)
	}
	if !c.eof() {
		t.Error("connection still open after Shutdown")
	}
}

func TestServeTLSNeedsConfig(t *testing.T) {
	e := newEnv(t)
	srv := NewServer(e.store, Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := srv.ServeTLS(l); err == nil {
		t.Error("ServeTLS without TLSConfig: got nil, want an error")
	}
	// Without a TLS config there is no STARTTLS either, and without
	// InsecureAuth no way to log in.
	go srv.Serve(l)
	defer srv.Close()
	nc, err := net.DialTimeout("tcp", l.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, nc)
	got := c.capabilities()
	if strings.Contains(strings.Join(got, " "), "STARTTLS") {
		t.Errorf("CAPABILITY: got %v, want no STARTTLS", got)
	}
	c.expect("NO", "LOGIN "+alice+" "+quote(password))
	c.expect("NO", "STARTTLS")
}
