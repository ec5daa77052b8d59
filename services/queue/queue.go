package queue

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"facteur/services/mailstore"
)

// Options configure a Queue.
type Options struct {
	Store    *mailstore.Store
	Hostname string   // our EHLO name and the Reporting-MTA of our DSNs
	Resolver Resolver // MX, address and MTA-STS lookups
	// Sign returns the DKIM-Signature header fields to prepend to a message
	// from the sender from, or "" to send it unsigned.
	Sign func(ctx context.Context, from string, msg io.Reader) (string, error)
	// Bounce delivers a report (a complete message, sent from the null
	// sender <>) to to, durably: into a local mailbox, or the queue.
	Bounce func(ctx context.Context, to string, msg []byte) error

	Smarthost *Smarthost // relay everything through this host, if set
	Port      int        // remote SMTP port; 25
	LocalAddr net.IP     // source address of our connections; nil: any
	RootCAs   *x509.CertPool
	HTTPSPort int // where MTA-STS policies are fetched; 443 (tests change it)

	MaxAge    time.Duration // give up (and bounce) after; 5 days
	WarnAfter time.Duration // send a delay warning after; 4 hours
	RetryBase time.Duration // first retry delay, doubled each time; 5 minutes
	RetryMax  time.Duration // longest retry delay; 4 hours
	Workers   int           // entries delivered at once; 16
	PerDomain int           // connections to one destination domain at once; 8

	Now    func() time.Time
	Logger *slog.Logger
}

// Smarthost is a relay that takes all outbound mail, with AUTH over TLS.
type Smarthost struct {
	Host     string `json:"host"`
	Port     int    `json:"port"` // 587 (STARTTLS) or 465 (implicit TLS)
	Username string `json:"username"`
	Password string `json:"password"`
	// Insecure skips verifying the relay's certificate (a relay with a
	// self-signed certificate on a trusted network).
	Insecure bool `json:"insecure,omitempty"`
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MaxAge, 5*24*time.Hour)
	def(&o.WarnAfter, 4*time.Hour)
	def(&o.RetryBase, 5*time.Minute)
	def(&o.RetryMax, 4*time.Hour)
	if o.Port == 0 {
		o.Port = 25
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.PerDomain <= 0 {
		o.PerDomain = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Queue delivers the store's outbound queue. Run it once.
type Queue struct {
	opts  Options
	log   *slog.Logger
	kick  chan struct{} // a new or retried entry: look at the store
	ended chan struct{} // a delivery ended: a worker is free
	sts   *stsCache
	conns *connCache

	mu      sync.Mutex
	busy    map[uint64]bool // entries being delivered
	domains map[string]int  // open connections per destination domain
	freed   chan struct{}   // a domain slot was released
}

// New returns a queue; Run starts delivering.
func New(opts Options) *Queue {
	opts = opts.withDefaults()
	q := &Queue{
		opts: opts, log: opts.Logger,
		kick:    make(chan struct{}, 1),
		ended:   make(chan struct{}, 1),
		conns:   newConnCache(opts.PerDomain),
		busy:    map[uint64]bool{},
		domains: map[string]int{},
		freed:   make(chan struct{}),
	}
	q.sts = newSTSCache(q)
	return q
}

// Kick makes the queue look for due entries now (a new message, a retry
// asked for by the admin).
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run delivers due entries until ctx is done, then waits (at most a
// minute) for the deliveries under way.
//
// It reads the whole queue from the store to find due entries, at most
// every scanInterval however often it is kicked, and in between feeds
// free workers from the due list of its last read.
func (q *Queue) Run(ctx context.Context) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	slots := make(chan struct{}, q.opts.Workers)
	var due []uint64
	wait := time.Duration(0) // until the next scan
	lastScan := time.Time{}
	for {
		if wait <= 0 {
			if d := scanInterval - time.Since(lastScan); d > 0 {
				time.Sleep(d) // kicks come in bursts: one read for a burst
			}
			due, wait = q.scan(ctx)
			lastScan = time.Now()
		}
		due = q.start(work, &wg, slots, due)
		t := time.NewTimer(min(wait, q.conns.ttl))
		began := time.Now()
		select {
		case <-ctx.Done():
			t.Stop()
			q.drain(&wg, cancel)
			q.conns.expire(true)
			return nil
		case <-q.kick:
			wait = 0
		case <-q.ended:
			if len(due) == 0 {
				wait = 0 // look for entries that came due meanwhile
			}
		case <-t.C:
			q.conns.expire(false)
		}
		t.Stop()
		if wait > 0 {
			wait -= time.Since(began)
		}
	}
}

// scanInterval is the shortest time between two reads of the queue.
const scanInterval = 50 * time.Millisecond

func (q *Queue) drain(wg *sync.WaitGroup, cancel func()) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cancel()
		<-done
	}
}

// scan returns the due entries that are not being delivered, oldest first,
// and how long until the next one comes due.
func (q *Queue) scan(ctx context.Context) ([]uint64, time.Duration) {
	entries, err := q.opts.Store.Queue(ctx)
	if err != nil {
		q.log.Error("read the queue", "err", err)
		return nil, time.Minute
	}
	now := q.opts.Now()
	wait := time.Hour
	var due []uint64
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range entries {
		if d := e.NextAttempt.Sub(now); d > 0 {
			wait = min(wait, d)
		} else if !q.busy[e.ID] {
			due = append(due, e.ID)
		}
	}
	return due, max(wait, 10*time.Millisecond)
}

// start begins deliveries of due entries while workers are free and
// returns the entries still waiting for one.
func (q *Queue) start(ctx context.Context, wg *sync.WaitGroup, slots chan struct{}, due []uint64) []uint64 {
	for len(due) > 0 {
		id := due[0]
		if !q.claim(id) {
			due = due[1:]
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			q.release(id)
			return due
		}
		due = due[1:]
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.attempt(ctx, id)
			q.release(id)
			<-slots
			select {
			case q.ended <- struct{}{}:
			default:
			}
		}()
	}
	return due
}

func (q *Queue) claim(id uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.busy[id] {
		return false
	}
	q.busy[id] = true
	return true
}

func (q *Queue) release(id uint64) {
	q.mu.Lock()
	delete(q.busy, id)
	q.mu.Unlock()
}

// acquireDomain waits for one of domain's connection slots.
func (q *Queue) acquireDomain(ctx context.Context, domain string) bool {
	for {
		q.mu.Lock()
		if q.domains[domain] < q.opts.PerDomain {
			q.domains[domain]++
			q.mu.Unlock()
			return true
		}
		freed := q.freed
		q.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return false
		}
	}
}

func (q *Queue) releaseDomain(domain string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.domains[domain]--; q.domains[domain] <= 0 {
		delete(q.domains, domain)
	}
	close(q.freed)
	q.freed = make(chan struct{})
}

// backoff is the delay before attempt n+1 after n failed attempts.
func (q *Queue) backoff(n int) time.Duration {
	d := q.opts.RetryBase
	for i := 1; i < n && d < q.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, q.opts.RetryMax)
}
