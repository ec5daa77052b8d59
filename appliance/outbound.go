package appliance

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"facteur/services/queue"
	"facteur/services/smtpd"
)

// resolver is the DNS the core uses for outbound mail and message
// authentication: Options.Resolver if given, else the box's own DNS
// service (the dns role, on this address's DNS port).
func (c *Core) resolver() *net.Resolver {
	addr := c.opts.Resolver
	if addr == "" {
		host := c.opts.Bind
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		addr = net.JoinHostPort(host, strconv.Itoa(c.opts.Ports.DNS))
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// queueRunner holds the running outbound queue.
type queueRunner struct {
	mu   sync.Mutex // serializes start and stop
	q    atomic.Pointer[queue.Queue]
	stop func()
}

// startQueue (re)starts the outbound queue with the current settings.
func (c *Core) startQueue() {
	c.queue.mu.Lock()
	defer c.queue.mu.Unlock()
	if c.queue.stop != nil {
		c.queue.stop()
	}
	s := c.Settings()
	opts := queue.Options{
		Store: c.store, Hostname: s.Hostname, Resolver: c.resolver(),
		Sign: c.dkimSign, Bounce: c.bounce,
		MaxAge:    time.Duration(s.QueueMaxDays) * 24 * time.Hour,
		RetryBase: c.opts.RetryBase,
		Logger:    c.log.With("service", "queue"),
	}
	if ip := net.ParseIP(c.opts.Bind); ip != nil && !ip.IsUnspecified() {
		opts.LocalAddr = ip // SPF checks the address we connect from
	}
	if h := s.Smarthost; h != nil {
		opts.Smarthost = &queue.Smarthost{Host: h.Host, Port: h.Port, Username: h.Username, Password: h.Password, Insecure: h.Insecure}
	}
	q := queue.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	c.queue.q.Store(q)
	c.queue.stop = func() {
		c.queue.q.Store(nil)
		cancel()
		<-done
	}
}

// stopQueue stops the outbound queue; it waits for deliveries under way.
func (c *Core) stopQueue() {
	c.queue.mu.Lock()
	defer c.queue.mu.Unlock()
	if c.queue.stop != nil {
		c.queue.stop()
		c.queue.stop = nil
	}
}

// restartQueue applies changed settings to a running queue.
func (c *Core) restartQueue() {
	c.queue.mu.Lock()
	running := c.queue.stop != nil
	c.queue.mu.Unlock()
	if running {
		c.startQueue()
	}
}

// kickQueue wakes the delivery worker, if it runs.
func (c *Core) kickQueue() {
	if q := c.queue.q.Load(); q != nil {
		q.Kick()
	}
}

// bounce delivers a delivery status notification from the null sender:
// into the sender's mailbox if local, through the queue otherwise.
func (c *Core) bounce(ctx context.Context, to string, msg []byte) error {
	b := &smtpBackend{store: c.store, now: time.Now, kick: c.kickQueue, log: c.log}
	return b.Deliver(ctx, &smtpd.Envelope{From: "", To: []string{to}, Submission: true}, bytes.NewReader(msg))
}
