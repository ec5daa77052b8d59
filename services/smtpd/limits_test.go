package smtpd

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestConnsPerIP(t *testing.T) {
	h := start(t, func(o *Options) { o.MaxConnsPerIP = 2 })
	tests := []struct {
		kind  kind
		addr  string
		isTLS bool
	}{
		{kindMX, h.mx, false},
		{kindSubmission, h.sub, false},
		{kindSubmissions, h.subs, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			first := dialMaybeTLS(t, tt.addr, tt.isTLS)
			dialMaybeTLS(t, tt.addr, tt.isTLS)

			extra := connect(t, tt.addr, tt.isTLS)
			extra.expect("421 4.7.0 too many connections from your address")
			extra.expectClosed()

			// Once a connection ends, there is room for another. Over TLS
			// the client sees the end (close_notify) just before the server
			// has forgotten the connection.
			first.cmd("QUIT", "221 ")
			first.expectClosed()
			waitConns(t, h.srv, tt.kind, 1)
			dialMaybeTLS(t, tt.addr, tt.isTLS).cmd("EHLO client.example", "250 ")
		})
	}
}

// waitConns waits until the server counts n connections of kind k from
// 127.0.0.1.
func waitConns(t *testing.T, s *Server, k kind, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := s.perIP[ipKey{k, "127.0.0.1"}]
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server has %d connections, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func dialMaybeTLS(t *testing.T, addr string, isTLS bool) *rawClient {
	t.Helper()
	if isTLS {
		return dialTLS(t, addr)
	}
	return dial(t, addr)
}

// Shutdown lets a connection finish its message, then returns.
func TestShutdown(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")

	shut := make(chan error, 1)
	go func() { shut <- h.srv.Shutdown(context.Background()) }()
	// Wait for ServeMX to return: the listener is closed.
	if err := <-h.errs; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeMX returned %v, want ErrServerClosed", err)
	}
	h.errs <- ErrServerClosed // for the harness's own check
	if conn, err := net.Dial("tcp", h.mx); err == nil {
		conn.Close()
		t.Errorf("dial after Shutdown succeeded, want refused")
	}

	c.submit("sender@remote.example", []string{"alice@example.com"}, "Subject: last\r\n\r\nlast\r\n")
	c.cmd("QUIT", "221 ")
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if got := h.be.delivered(); len(got) != 1 {
		t.Errorf("delivered %d messages, want 1", len(got))
	}
	if err := h.srv.ServeMX(newListener(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeMX after Shutdown returned %v, want ErrServerClosed", err)
	}
}

// Shutdown does not wait for a client that sits idle between commands:
// after the drain grace its session is closed and Shutdown returns cleanly,
// well before its context ends.
func TestShutdownClosesIdleSessions(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an idle session: %v, want it to close the session and return nil", err)
	}
	<-h.errs
	h.errs <- ErrServerClosed // for the harness's own check
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.r.ReadString('\n'); err == nil {
		// go-smtp may send a last line; the connection must then end.
		if _, err := c.r.ReadString('\n'); err == nil {
			t.Error("the idle session is still open after Shutdown")
		}
	}
}

// Shutdown whose context ends closes idle connections by force.
func TestShutdownDeadline(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.sub)
	c.cmd("EHLO client.example", "250 ")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown returned %v, want context.Canceled", err)
	}
	c.expectClosed()
}

// Close ends connections in the middle of a BDAT transfer, whose body
// goroutine go-smtp starts on its own.
func TestCloseDuringBDAT(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.send("BDAT 5\r\nhello")
	c.expect("250 ")
	if err := h.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	c.expectClosed()
	if got := h.be.delivered(); len(got) != 0 {
		t.Errorf("delivered %+v, want nothing", got)
	}
}

func newListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
