package update

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"facteur/internal/zonedns"
)

// TestHealthProbes runs each probe against a real server and against
// nothing.
func TestHealthProbes(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}))
	defer web.Close()
	broken := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	var zs zonedns.Server
	dnsAddr, stop, err := zs.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	sock := filepath.Join(t.TempDir(), "fw.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	free := freeAddr(t)
	for _, tc := range []struct {
		name  string
		probe func(context.Context) error
		ok    bool
	}{
		{"HTTPS up", HTTPSAnswers(web.Listener.Addr().String()), true},
		{"HTTPS server error", HTTPSAnswers(broken.Listener.Addr().String()), false},
		{"HTTPS nothing", HTTPSAnswers(free), false},
		{"DNS up", DNSAnswers(dnsAddr), true},
		{"DNS nothing", DNSAnswers(free), false},
		{"socket up", SocketAccepts(sock), true},
		{"socket missing", SocketAccepts(sock + ".gone"), false},
		{"SMTP up", Greets(greeter(t)), true},
		{"SMTP nothing", Greets(free), false},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := tc.probe(ctx)
		cancel()
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// freeAddr is a loopback address where nothing listens (TCP or UDP).
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
