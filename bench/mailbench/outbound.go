package mailbench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"facteur/internal/zonedns"
)

// OutboundConfig configures the outbound benchmark: two boxes (facteur
// serve on 127.0.0.41 for a.bench and 127.0.0.42 for b.bench) and a DNS
// server on 127.0.0.40 serving the records each box publishes. Messages
// are submitted to box A (port 587, STARTTLS, AUTH) for a user of box B;
// the time runs from the first submission until B's INBOX holds them all,
// so it covers A's queue, DKIM signing, the SMTP transfer, B's SPF, DKIM
// and DMARC checks and B's storage.
type OutboundConfig struct {
	Bin, Root, Dir string
	Runs           []OutboundRun
	Conns          int           // concurrent submission connections
	Timeout        time.Duration // per run
	Log            io.Writer
	Keep           bool
}

// OutboundRun is one measurement: Count messages of Size bytes.
type OutboundRun struct {
	Count int `json:"count"`
	Size  int `json:"size"`
}

// OutboundResult is a run's figure.
type OutboundResult struct {
	OutboundRun
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"messages_per_second"`
	MBPerSec float64 `json:"megabytes_per_second"`
}

const (
	outDNS  = "127.0.0.40"
	outBoxA = "127.0.0.41"
	outBoxB = "127.0.0.42"
)

// RunOutbound starts both boxes, runs cfg.Runs in order and stops them.
func RunOutbound(ctx context.Context, cfg OutboundConfig) ([]OutboundResult, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "mailbench-outbound-")
	if err != nil {
		return nil, err
	}
	if !cfg.Keep {
		defer os.RemoveAll(dir)
	}
	if cfg.Bin == "" {
		cfg.Bin = filepath.Join(dir, "facteur")
		fmt.Fprintf(cfg.Log, "building facteur from %s\n", cfg.Root)
		if _, err := run(ctx, 10*time.Minute, nil, "go", "-C", cfg.Root, "build", "-o", cfg.Bin, "./appliance/cmd/facteur"); err != nil {
			return nil, fmt.Errorf("build facteur: %w", err)
		}
	}
	zone := &zonedns.Server{}
	_, stopDNS, err := zone.Start(outDNS + ":53")
	if err != nil {
		return nil, err
	}
	defer stopDNS()
	sender := User{"sender@a.bench", "pw-" + randomToken()}
	rcpt := User{"rcpt@b.bench", "pw-" + randomToken()}
	var boxes []*child
	defer func() {
		for _, b := range boxes {
			b.stop(30 * time.Second)
		}
	}()
	for _, b := range []struct {
		ip, domain string
		u          User
	}{{outBoxA, "a.bench", sender}, {outBoxB, "b.bench", rcpt}} {
		proc, records, err := startBox(ctx, cfg.Bin, filepath.Join(dir, b.domain), b.ip, b.domain, b.u)
		if err != nil {
			return nil, err
		}
		boxes = append(boxes, proc)
		if err := zone.Load(records); err != nil {
			return nil, err
		}
	}
	var results []OutboundResult
	seq := 0
	for _, r := range cfg.Runs {
		res, err := outboundRun(ctx, cfg, r, sender, rcpt, seq)
		if err != nil {
			return results, fmt.Errorf("%d messages of %d bytes: %w", r.Count, r.Size, err)
		}
		seq += r.Count
		fmt.Fprintf(cfg.Log, "outbound: %d × %d bytes in %.2f s: %.1f msg/s, %.1f MB/s\n", r.Count, r.Size, res.Seconds, res.PerSec, res.MBPerSec)
		results = append(results, *res)
	}
	return results, nil
}

// startBox runs facteur serve for domain on ip, sets it up with user u,
// and returns the records it publishes.
func startBox(ctx context.Context, bin, dir, ip, domain string, u User) (*child, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	proc, err := startChild("facteur-"+domain, filepath.Join(dir, "facteur.log"), nil, bin, "serve", "-data", dir, "-bind", ip, "-resolver", outDNS+":53")
	if err != nil {
		return nil, "", err
	}
	err = waitFor(ctx, "facteur for "+domain, 30*time.Second, proc.failed, func() error {
		if _, err := os.Stat(filepath.Join(dir, "ctl.sock")); err != nil {
			return err
		}
		return dialable(ip + ":25")
	})
	if err == nil {
		_, err = run(ctx, time.Minute, []byte("admin-"+randomToken()+"\n"), bin, "setup", "-data", dir,
			"-hostname", "mail."+domain, "-domain", domain, "-admin", "admin@"+domain, "-ip", ip)
	}
	if err == nil {
		_, err = run(ctx, time.Minute, []byte(u.Password+"\n"), bin, "user", "add", "-data", dir, u.Addr)
	}
	var records string
	if err == nil {
		records, err = run(ctx, time.Minute, nil, bin, "dns", "records", "-data", dir)
	}
	if err != nil {
		proc.stop(10 * time.Second)
		return nil, "", fmt.Errorf("box %s: %w", domain, err)
	}
	return proc, records, nil
}

func outboundRun(ctx context.Context, cfg OutboundConfig, r OutboundRun, from, to User, seq0 int) (*OutboundResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	ic, err := dialIMAP(outBoxB+":993", to, nil)
	if err != nil {
		return nil, err
	}
	before, err := inboxCount(ic)
	ic.Close()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Conns)
	for range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := submitWorker(from, to.Addr, r, seq0, &next); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	end, err := waitCount(ctx, outBoxB+":993", to, int(before)+r.Count, 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	secs := end.Sub(start).Seconds()
	return &OutboundResult{OutboundRun: r, Seconds: secs, PerSec: float64(r.Count) / secs,
		MBPerSec: float64(r.Count) * float64(r.Size) / secs / 1e6}, nil
}

// submitWorker submits messages over one authenticated session until the
// run's count is reached.
func submitWorker(from User, rcpt string, r OutboundRun, seq0 int, next *atomic.Int64) error {
	conn, err := net.DialTimeout("tcp", outBoxA+":587", dialTimeout)
	if err != nil {
		return err
	}
	c, err := smtp.NewClientStartTLS(conn, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = smtpTimeout, smtpTimeout
	if err := c.Auth(sasl.NewPlainClient("", from.Addr, from.Password)); err != nil {
		return err
	}
	for {
		i := int(next.Add(1)) - 1
		if i >= r.Count {
			return c.Quit()
		}
		msg := Message(seq0+i, r.Size, time.Now())
		msg = []byte(strings.Replace(string(msg), "From: ", "X-Original-From: ", 1))
		msg = append([]byte("From: "+from.Addr+"\r\n"), msg...)
		if err := c.SendMail(from.Addr, []string{rcpt}, strings.NewReader(string(msg))); err != nil {
			return fmt.Errorf("submit message %d: %w", i, err)
		}
	}
}
