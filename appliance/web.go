package appliance

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"facteur/appliance/config"
	"facteur/webui"
)

// webState is the web UI's part of the core: it outlives the HTTP servers,
// which serve restarts with the other services.
type webState struct {
	ui      *webui.Server
	logs    *ringBuf
	metrics *msgMetrics

	// mu guards token.
	mu    sync.Mutex
	token string // the one-time setup token; "" once set up
}

// initWeb sets up the log ring (every core logger goes through it from
// here on), the message counters and, on a box not set up yet, the setup
// token.
func (c *Core) initWeb() {
	ring := newLogRing(c.log.Handler(), 2000)
	c.log = slog.New(ring)
	w := &webState{logs: ring.buf, metrics: &msgMetrics{}}
	if !c.Settings().SetupDone {
		b := make([]byte, 16)
		rand.Read(b)
		w.token = hex.EncodeToString(b)
	}
	c.web = w
	w.ui = webui.New(&webBackend{c: c}, webui.Options{
		Logger: c.log.With("service", "web"), HTTPSPort: portOf(c.Addr("https")), Dev: c.opts.Ports == DevPorts,
	})
}

// SetupURL is the address that opens the setup wizard, with the one-time
// token, or "" once the box is set up.
func (c *Core) SetupURL() string {
	if c.web == nil || c.Settings().SetupDone {
		return ""
	}
	c.web.mu.Lock()
	defer c.web.mu.Unlock()
	if c.web.token == "" {
		return ""
	}
	return "http://" + hostPort(c.Addr("http")) + "/setup?token=" + c.web.token
}

// AdminURL is the web UI's HTTPS address.
func (c *Core) AdminURL() string { return "https://" + hostPort(c.Addr("https")) + "/" }

// hostPort turns a wildcard listen address into one a browser can open.
func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = lanAddress()
	}
	return net.JoinHostPort(host, port)
}

// lanAddress is the box's first private IPv4 address (what an office PC
// can open), else "localhost".
func lanAddress() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsPrivate() {
			return n.IP.String()
		}
	}
	return "localhost"
}

// webServers returns one round's web servers: a plain HTTP and an HTTPS
// serve function (each given its listener by serve) and their shutdown.
// Both run the same webui.Server, so sessions outlive the round.
func (c *Core) webServers() (serveHTTP, serveHTTPS func(net.Listener) error, shutdown func(context.Context) error) {
	plain := &http.Server{Handler: c.web.ui, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(c.log)}
	secure := &http.Server{Handler: c.web.ui, ReadHeaderTimeout: 10 * time.Second, TLSConfig: c.certs.config(), ErrorLog: slogErrorLog(c.log)}
	wrap := func(err error) error {
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
	serveHTTP = func(l net.Listener) error { return wrap(plain.Serve(l)) }
	serveHTTPS = func(l net.Listener) error { return wrap(secure.ServeTLS(l, "", "")) }
	shutdown = func(ctx context.Context) error { return errors.Join(plain.Shutdown(ctx), secure.Shutdown(ctx)) }
	return
}

// call runs a control method in-process, so the web UI goes through the
// same code as the CLI.
func (c *Core) call(ctx context.Context, method string, params any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	h := c.methods()[method]
	if h == nil {
		return fmt.Errorf("no method %s", method)
	}
	_, err = h(ctx, raw)
	return err
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// settingsTZ is the admin's time zone, UTC when unset or unknown.
func settingsTZ(s *config.Settings) *time.Location {
	if loc, err := time.LoadLocation(s.TimeZone); err == nil && s.TimeZone != "" {
		return loc
	}
	return time.UTC
}

func (w *webState) checkToken(tok string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.token != "" && len(tok) == len(w.token) && subtle.ConstantTimeCompare([]byte(tok), []byte(w.token)) == 1
}

// killToken ends the setup token for good.
func (w *webState) killToken() {
	w.mu.Lock()
	w.token = ""
	w.mu.Unlock()
}

// slogErrorLog routes net/http's own messages (mostly TLS handshakes that
// browsers abort over the self-signed certificate) to the log at debug.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.With("service", "web").Handler(), slog.LevelDebug)
}
