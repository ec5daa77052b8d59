// Package mailbench measures Facteur against Postfix+Dovecot with the same
// client code: the SMTP accept rate on port 25, the end-to-end delivery
// rate and latency (250 reply to visible over IMAP), FETCH and SEARCH times
// on a large mailbox, and the servers' memory and CPU.
//
// Each system runs from its own scratch directory on its own loopback
// address (Facteur on 127.0.0.10, Postfix+Dovecot on 127.0.0.11, both on
// the standard ports), one after the other, and is stopped and removed
// before the next starts.
package mailbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Config is one mailbench run. Zero fields take the defaults of the full
// run (Defaults), except Large: 0 skips the large mailbox.
type Config struct {
	Messages int           // messages of the SMTP and end-to-end load
	Large    int           // messages in the large mailbox; 0 skips it
	Size     int           // bytes per message
	Conns    int           // concurrent SMTP connections
	PerConn  int           // messages per SMTP connection before a new one
	Runs     int           // FETCH and SEARCH runs on the large mailbox
	Poll     time.Duration // NOOP interval of the end-to-end watcher
	Timeout  time.Duration // bound of each phase (load, fill, timings)

	SkipFacteur, SkipClassic bool
	FacteurBin               string    // the facteur binary; built if empty
	Root                     string    // the facteur module, for the build and git
	Dir                      string    // parent of the scratch directories
	Out                      string    // where results.json and results.md go; "" writes none
	Keep                     bool      // keep the scratch directories
	Log                      io.Writer `json:"-"`
}

// Defaults are the figures of the full run.
var Defaults = Config{Messages: 20000, Large: 100000, Size: 10 << 10, Conns: 8, PerConn: 100, Runs: 5,
	Poll: 10 * time.Millisecond, Timeout: 30 * time.Minute}

func (c *Config) fill() {
	d := Defaults
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.Messages, d.Messages)
	set(&c.Size, d.Size)
	set(&c.Conns, d.Conns)
	set(&c.PerConn, d.PerConn)
	set(&c.Runs, d.Runs)
	if c.Large < 0 {
		c.Large = 0
	}
	if c.Poll == 0 {
		c.Poll = d.Poll
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Run measures the systems Config selects, prints the table to w and
// writes the results to Config.Out.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	cfg.fill()
	if err := onDisk(cfg.Dir); err != nil {
		return err
	}
	rep := &Report{Config: cfg, Machine: describeMachine(ctx, cfg.Root)}
	rep.Start = time.Now()
	var systems []System
	var errs []error
	root := os.Geteuid() == 0
	if !cfg.SkipFacteur {
		f, err := newFacteur(ctx, cfg, root)
		if err != nil {
			return err
		}
		systems = append(systems, f)
	}
	if !cfg.SkipClassic {
		if !root {
			return errors.New("postfix+dovecot needs root (or -skip-classic)")
		}
		if err := installClassic(ctx, cfg.Log); err != nil {
			return fmt.Errorf("install postfix+dovecot: %w", err)
		}
		dir, err := os.MkdirTemp(cfg.Dir, "mailbench-classic-")
		if err != nil {
			return err
		}
		systems = append(systems, &Classic{Dir: dir, Bind: "127.0.0.11", Keep: cfg.Keep})
	}
	for _, s := range systems {
		res, err := measureSystem(ctx, cfg, s)
		if err != nil {
			err = fmt.Errorf("%s: %w", s.Name(), err)
			res.Error = err.Error()
			errs = append(errs, err)
			fmt.Fprintf(cfg.Log, "%v\n", err)
		}
		rep.Results = append(rep.Results, res)
		if ctx.Err() != nil {
			break
		}
	}
	rep.End = time.Now()
	rep.Machine.LoadAvg[1] = loadAvg()
	rep.WriteText(w)
	if cfg.Out != "" {
		errs = append(errs, rep.Save(cfg.Out))
	}
	return errors.Join(errs...)
}

// onDisk refuses a scratch parent on tmpfs, where fsync costs nothing and
// the figures would flatter whoever fsyncs most.
func onDisk(dir string) error {
	if dir == "" {
		dir = os.TempDir()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("scratch directory: %w", err)
	}
	const tmpfsMagic = 0x01021994
	if st.Type == tmpfsMagic {
		return fmt.Errorf("scratch directory %s is on tmpfs: pass -dir on a disk", dir)
	}
	return nil
}

// newFacteur builds facteur if needed and prepares its scratch directory.
// As root it runs `facteur serve` on 127.0.0.10; otherwise `facteur dev`
// on 127.0.0.1.
func newFacteur(ctx context.Context, cfg Config, root bool) (*Facteur, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "mailbench-facteur-")
	if err != nil {
		return nil, err
	}
	bin := cfg.FacteurBin
	if bin == "" {
		bin = filepath.Join(dir, "facteur")
		fmt.Fprintf(cfg.Log, "building facteur from %s\n", cfg.Root)
		ldflags := "-X facteur/appliance.Version=" + gitDescribe(ctx, cfg.Root)
		cmd := []string{"go", "-C", cfg.Root, "build", "-ldflags", ldflags, "-o", bin, "./appliance/cmd/facteur"}
		if _, err := run(ctx, 10*time.Minute, nil, cmd...); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("build facteur: %w", err)
		}
	}
	f := &Facteur{Bin: bin, Dir: dir, Bind: "127.0.0.10", Keep: cfg.Keep}
	if !root {
		f.Bind, f.Dev = "127.0.0.1", true
	}
	return f, nil
}

// users are the accounts of both systems: bench1 receives the end-to-end
// load, large the large mailbox.
func users() []User {
	return []User{{"bench1@" + Domain, "pw-" + randomToken()}, {"large@" + Domain, "pw-" + randomToken()}}
}

// measureSystem starts s, runs every phase on it and stops it.
func measureSystem(ctx context.Context, cfg Config, s System) (res *Result, err error) {
	res = &Result{System: s.Name(), Version: s.Version(ctx)}
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "%s %s: %s\n", time.Now().Format("15:04:05"), s.Name(), fmt.Sprintf(format, args...))
	}
	us := users()
	logf("starting")
	if err := s.Start(ctx, us); err != nil {
		return res, errors.Join(err, s.Stop())
	}
	defer func() { err = errors.Join(err, s.Stop()) }()
	// Let start-up work settle before the idle reading.
	select {
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.Idle = measure(s.Roots())
	logf("idle: %d processes, RSS %s", res.Idle.Procs, mb(res.Idle.RSS))
	if err := loadPhase(ctx, cfg, s, us[0], res, logf); err != nil {
		return res, err
	}
	if cfg.Large > 0 {
		if err := largePhase(ctx, cfg, s, us[1], res, logf); err != nil {
			return res, err
		}
	}
	return res, nil
}
