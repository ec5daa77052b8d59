package pop3d

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestIdleTimeout(t *testing.T) {
	be := aliceBackend()
	ts := startServer(t, be, Options{InsecureAuth: true, IdleTimeout: 250 * time.Millisecond}, false)
	c := dial(t, ts.addr)
	c.login()
	c.check("DELE 1", "+OK Message 1 deleted")
	c.expect("-ERR Autologout; idle for too long")
	c.expectClosed()
	waitFor(t, "maildrop closed", func() bool { return !be.isLocked("alice") })
	if _, commits := be.counts(); commits != 0 {
		t.Errorf("autologout committed %d times", commits)
	}
}

func TestMaxConns(t *testing.T) {
	ts := startServer(t, aliceBackend(), Options{MaxConns: 2}, false)
	c1 := dial(t, ts.addr)
	dial(t, ts.addr)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	c3 := newClient(t, conn)
	c3.expect("-ERR [SYS/TEMP] Too many connections, try again later")
	c3.expectClosed()
	c1.check("QUIT", "+OK Bye")
	c1.expectClosed()
	waitFor(t, "a free slot", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return len(ts.conns) < 2
	})
	dial(t, ts.addr)
}

func TestShutdown(t *testing.T) {
	be := aliceBackend()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(be, Options{InsecureAuth: true, Hostname: "pop.example.org"})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c := dial(t, l.Addr().String())
	c.login()
	c.check("DELE 1", "+OK Message 1 deleted")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	c.expect("-ERR [SYS/TEMP] Server shutting down")
	c.expectClosed()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if got := be.uids("alice"); len(got) != 2 {
		t.Errorf("Shutdown committed a deletion: INBOX %q", got)
	}
	if be.isLocked("alice") {
		t.Error("maildrop still locked")
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown returned %v, want ErrServerClosed", err)
	}
}

// blockingBackend blocks Login until its context ends.
type blockingBackend struct{ started chan struct{} }

func (b blockingBackend) Login(ctx context.Context, user, pass string, remote net.Addr) (Maildrop, error) {
	close(b.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestShutdownTimeoutCloses(t *testing.T) {
	be := blockingBackend{started: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(be, Options{InsecureAuth: true, Hostname: "pop.example.org"})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c := dial(t, l.Addr().String())
	c.check("USER alice", "+OK Send PASS")
	c.send("PASS secret\r\n")
	<-be.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want DeadlineExceeded", err)
	}
	<-done
	c.expectClosed()
}

func TestCloseBeforeServe(t *testing.T) {
	srv := NewServer(aliceBackend(), Options{})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close returned %v, want ErrServerClosed", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Error("Serve left the listener open")
	}
}
