package mailbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// Load describes one SMTP load: N messages of Size bytes to Rcpt over
// Conns connections, each used for PerConn messages before a new one.
type Load struct {
	Addr    string
	Rcpt    string
	N       int
	Size    int
	Conns   int
	PerConn int
	Date    time.Time // the first message's Date header
}

// Sent is the outcome of a Load.
type Sent struct {
	Start time.Time
	End   time.Time   // the last 250 reply
	Acked []time.Time // the 250 reply to each message, by sequence number
	Conns int         // connections opened
}

// Rate is the accepted messages per second.
func (s *Sent) Rate() float64 { return float64(len(s.Acked)) / s.End.Sub(s.Start).Seconds() }

// Send runs l and returns when every message has been acknowledged, one
// failed, or ctx is done. Any refusal fails the whole load: a benchmark
// that drops mail measures nothing.
func Send(ctx context.Context, l Load) (*Sent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &Sent{Acked: make([]time.Time, l.N), Start: time.Now()}
	var next, conns atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex // guards firstErr
	var firstErr error
	for range l.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := sendWorker(ctx, l, s, &next)
			conns.Add(int64(n))
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	s.End = time.Now()
	s.Conns = int(conns.Load())
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return s, fmt.Errorf("smtp load on %s: %w", l.Addr, firstErr)
	}
	return s, nil
}

// sendWorker sends messages from the shared counter until they are all
// taken, and returns how many connections it opened.
func sendWorker(ctx context.Context, l Load, s *Sent, next *atomic.Int64) (int, error) {
	var c *smtp.Client
	opened, onConn := 0, 0
	defer func() {
		if c != nil {
			c.Quit()
			c.Close()
		}
	}()
	for ctx.Err() == nil {
		seq := int(next.Add(1) - 1)
		if seq >= l.N {
			return opened, nil
		}
		if c != nil && onConn >= l.PerConn {
			c.Quit()
			c.Close()
			c = nil
		}
		if c == nil {
			var err error
			if c, err = dialSMTP(l.Addr); err != nil {
				return opened, err
			}
			opened, onConn = opened+1, 0
		}
		if err := sendOne(c, l.Rcpt, Message(seq, l.Size, l.Date)); err != nil {
			return opened, fmt.Errorf("message %d: %w", seq, err)
		}
		onConn++
		s.Acked[seq] = time.Now()
	}
	return opened, ctx.Err()
}

// Visibility records when each message of a mailbox became visible to an
// IMAP client that polls it with NOOP.
type Visibility struct {
	Seen []time.Time // by IMAP sequence number - 1
	Seqs []int       // the generated sequence number at each IMAP sequence number - 1
}

// watcher polls u's INBOX with NOOP every interval until it holds n
// messages.
type watcher struct {
	c        *imapclient.Client
	count    atomic.Uint32
	n        uint32
	interval time.Duration
}

// newWatcher logs in and selects INBOX, which must be empty.
func newWatcher(addr string, u User, n int, interval time.Duration) (*watcher, error) {
	w := &watcher{n: uint32(n), interval: interval}
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				w.count.Store(*d.NumMessages)
			}
		},
	}}
	c, err := dialIMAP(addr, u, opts)
	if err != nil {
		return nil, err
	}
	w.c = c
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("select INBOX: %w", err)
	}
	if sel.NumMessages != 0 {
		c.Close()
		return nil, fmt.Errorf("INBOX of %s holds %d messages; want an empty one", u.Addr, sel.NumMessages)
	}
	return w, nil
}

// watch polls until n messages are visible or ctx is done.
func (w *watcher) watch(ctx context.Context) (*Visibility, error) {
	v := &Visibility{Seen: make([]time.Time, w.n)}
	seen := uint32(0)
	for seen < w.n {
		if err := w.c.Noop().Wait(); err != nil {
			return v, fmt.Errorf("NOOP: %w", err)
		}
		now := time.Now()
		for cur := min(w.count.Load(), w.n); seen < cur; seen++ {
			v.Seen[seen] = now
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%d of %d messages visible: %w", seen, w.n, ctx.Err())
		case <-time.After(w.interval):
		}
	}
	var err error
	v.Seqs, err = subjectSeqs(w.c, w.n)
	return v, err
}

func (w *watcher) close() error {
	err := w.c.Logout().Wait()
	return errors.Join(err, w.c.Close())
}
