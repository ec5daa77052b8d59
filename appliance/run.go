// Package appliance wires Facteur's core together: it opens the store,
// reads the settings, makes the TLS certificate, starts the mail services
// on their listeners and the control socket, and stops them in order.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"facteur/appliance/config"
	"facteur/appliance/ctl"
	"facteur/services/imapd"
	"facteur/services/mailstore"
	"facteur/services/pop3d"
	"facteur/services/smtpd"
)

// Options configures Run.
type Options struct {
	DataDir string
	Bind    string // listen address for every service; "" means all
	Ports   Ports
	Logger  *slog.Logger
	// Ready, if set, is called once every listener is up.
	Ready func(*Core)
	// Resolver is the DNS server (host:port) for outbound mail and message
	// authentication; "" means the box's own DNS service.
	Resolver string
	// RetryBase is the outbound queue's first retry delay; 0 means the
	// default (5 minutes). Tests shorten it.
	RetryBase time.Duration
	// Update connects the web UI's update page to the update agent; nil
	// outside the firmware image (no agent, nothing to install).
	Update *UpdateOptions
}

// Core is the running core: what the CLI and the ready message need.
type Core struct {
	opts      Options
	store     *mailstore.Store
	certs     certHolder
	auth      authCounter
	log       *slog.Logger
	reload    chan struct{} // a value asks serve to restart the services
	readyDone bool
	queue     queueRunner
	web       *webState // the web UI's sessions, setup token, logs, counters

	// mu guards settings and addrs.
	mu       sync.Mutex
	settings *config.Settings
	addrs    map[string]string // service name -> listening address
	started  time.Time
}

// Run starts the core and blocks until ctx is done, then shuts down.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c := &Core{opts: opts, log: opts.Logger, started: time.Now()}
	store, err := mailstore.Open(filepath.Join(opts.DataDir, "db"), mailstore.Options{Logger: opts.Logger})
	if err != nil {
		return err
	}
	defer store.Close()
	c.store = store
	// Messages being checked when the last run stopped were never
	// acknowledged: their spool files go.
	if err := os.RemoveAll(filepath.Join(opts.DataDir, "spool")); err != nil {
		return err
	}
	if c.settings, err = loadSettings(ctx, store); err != nil {
		return err
	}
	if err := c.certs.loadOrCreate(ctx, store, c.settings.Hostname); err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	if err := c.writeZones(ctx); err != nil {
		return err
	}
	if err := c.writeFirewallPolicy(); err != nil {
		return err
	}
	c.auth.log = func(proto string, remote net.Addr, user string) {
		c.log.Warn("authentication failed", "proto", proto, "remote", remote.String(), "user", user)
		c.reportAuthFailure(proto, remote, user)
	}
	c.reload = make(chan struct{}, 1)
	ls, err := c.listenAll()
	if err != nil {
		return err
	}
	defer closeAll(ls)
	for {
		err := c.serve(ctx, ls)
		if !errors.Is(err, errReload) {
			return err
		}
		c.log.Info("settings changed: restarting the mail services")
	}
}

// errReload makes Run start the services again with new settings.
var errReload = errors.New("reload")

func loadSettings(ctx context.Context, store *mailstore.Store) (*config.Settings, error) {
	raw, err := store.Blob(ctx, blobSettings)
	if err != nil && !errors.Is(err, mailstore.ErrNotFound) {
		return nil, err
	}
	return config.Parse(raw)
}

const blobSettings = "settings.json"

// listenAll opens every service's listener and the control socket (last).
func (c *Core) listenAll() ([]net.Listener, error) {
	p := c.opts.Ports
	names := []string{"smtp", "submissions", "submission", "imap", "imaps", "pop3", "pop3s", "http", "https"}
	ports := []int{p.SMTP, p.Submissions, p.Submission, p.IMAP, p.IMAPS, p.POP3, p.POP3S, p.HTTP, p.HTTPS}
	var ls []net.Listener
	c.addrs = map[string]string{}
	for i, name := range names {
		l, err := net.Listen("tcp", net.JoinHostPort(c.opts.Bind, strconv.Itoa(ports[i])))
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("listen for %s: %w", name, err)
		}
		c.addrs[name] = l.Addr().String()
		ls = append(ls, l)
	}
	l, err := ctl.Listen(c.CtlPath())
	if err != nil {
		closeAll(ls)
		return nil, err
	}
	c.initWeb()
	if u := c.SetupURL(); u != "" {
		c.log.Info("not set up yet: open the setup wizard", "url", u)
	}
	return append(ls, l), nil
}

// serve runs the services on ls (in listenAll's order) until ctx is done,
// one fails, or the settings change (errReload).
func (c *Core) serve(ctx context.Context, ls []net.Listener) error {
	settings := c.Settings()
	tlsConf := c.certs.config()
	c.startQueue()
	defer c.stopQueue()
	be := &smtpBackend{store: c.store, now: time.Now, kick: c.kickQueue, check: c.inbound(),
		bounce: c.bounce, hostname: settings.Hostname, log: c.log.With("service", "smtp"), metrics: c.web.metrics}
	smtp := smtpd.NewServer(be, smtpd.Options{
		Hostname: settings.Hostname, TLSConfig: tlsConf, MaxMessageBytes: settings.MaxMessageBytes,
		Logger: c.log.With("service", "smtp"), AuthFailed: c.auth.hook("smtp"),
	})
	imap := imapd.NewServer(c.store, imapd.Options{
		TLSConfig: tlsConf, Logger: c.log.With("service", "imap"), AuthFailed: c.auth.hook("imap"),
		AppendLimit: uint32(settings.MaxMessageBytes),
	})
	pop := pop3d.NewServer(&popBackend{store: c.store, locked: map[uint64]bool{}}, pop3d.Options{
		TLSConfig: tlsConf, Hostname: settings.Hostname, Logger: c.log.With("service", "pop3"), AuthFailed: c.auth.hook("pop3"),
	})
	ctlSrv := &ctl.Server{Methods: c.methods(), Logger: c.log.With("service", "ctl")}
	serveHTTP, serveHTTPS, webShutdown := c.webServers()
	serves := []func(net.Listener) error{
		smtp.ServeMX, smtp.ServeSubmissions, smtp.ServeSubmission,
		imap.Serve, imap.ServeTLS, pop.Serve, pop.ServeTLS, serveHTTP, serveHTTPS, ctlSrv.Serve,
	}
	errc := make(chan error, len(serves))
	kept := make([]net.Listener, len(serves))
	for i, serve := range serves {
		kept[i] = keep(ls[i])
		go func() { errc <- wrapServe(ls[i].Addr().String(), serve(kept[i])) }()
	}
	c.log.Info("facteur core running", "data", c.opts.DataDir, "hostname", settings.Hostname)
	if c.opts.Ready != nil && !c.readyDone {
		c.readyDone = true
		c.opts.Ready(c)
	}
	var runErr error
	pending := len(serves)
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		pending--
		if runErr == nil {
			runErr = errors.New("a service stopped on its own")
		}
	case <-c.reload:
		runErr = errReload
	}
	c.log.Info("stopping the mail services")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := errors.Join(ctlSrv.Close(), smtp.Shutdown(shutCtx), imap.Shutdown(shutCtx), pop.Shutdown(shutCtx), webShutdown(shutCtx))
	// A server told to stop before its Serve began would then serve on:
	// ending the round's listeners makes every Serve return.
	for _, l := range kept {
		l.Close()
	}
	// Every Serve must have returned before the listeners serve again.
	for ; pending > 0; pending-- {
		select {
		case e := <-errc:
			err = errors.Join(err, e)
		case <-shutCtx.Done():
			return errors.Join(runErr, err, errors.New("a service did not stop in time"))
		}
	}
	if errors.Is(runErr, errReload) {
		return errReload
	}
	return errors.Join(runErr, err)
}

func wrapServe(name string, err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, smtpd.ErrServerClosed) || errors.Is(err, pop3d.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
		dropHandoff(l)
	}
}

// CtlPath is the control socket's path.
func (c *Core) CtlPath() string { return CtlPath(c.opts.DataDir) }

// CtlPath is the control socket's path for a data directory.
func CtlPath(dataDir string) string { return filepath.Join(dataDir, "ctl.sock") }

// Settings returns a copy of the current settings.
func (c *Core) Settings() *config.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := *c.settings
	return &s
}

// Addr returns the address a service listens on ("smtp", "submission",
// "submissions", "imap", "imaps", "pop3", "pop3s"); with port 0 in
// Options.Ports the system picks one.
func (c *Core) Addr(service string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[service]
}
