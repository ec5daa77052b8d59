package mailbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Facteur runs bin/facteur serve (or dev, when not root) on its own data
// directory.
type Facteur struct {
	Bin  string // the facteur binary
	Dir  string // scratch directory, removed by Stop unless Keep
	Bind string // listen address: 127.0.0.10 as root
	Dev  bool   // run `facteur dev` (ports 2525, 2993) instead of serve
	Keep bool

	proc *child
}

func (f *Facteur) Name() string { return "facteur" }

func (f *Facteur) data() string { return filepath.Join(f.Dir, "data") }

func (f *Facteur) port(std, dev string) string {
	if f.Dev {
		return net.JoinHostPort(f.Bind, dev)
	}
	return net.JoinHostPort(f.Bind, std)
}

func (f *Facteur) SMTPAddr() string { return f.port("25", "2525") }
func (f *Facteur) IMAPAddr() string { return f.port("993", "2993") }

func (f *Facteur) Roots() []int {
	if f.proc == nil {
		return nil
	}
	return []int{f.proc.pid()}
}

func (f *Facteur) Version(ctx context.Context) string {
	out, err := run(ctx, 10*time.Second, nil, f.Bin, "version")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(out)
}

func (f *Facteur) Start(ctx context.Context, users []User) error {
	for _, a := range []string{f.SMTPAddr(), f.IMAPAddr()} {
		if err := portFree(a); err != nil {
			return fmt.Errorf("facteur: %w", err)
		}
	}
	if err := os.MkdirAll(f.data(), 0o700); err != nil {
		return err
	}
	role := "serve"
	if f.Dev {
		role = "dev"
	}
	var err error
	f.proc, err = startChild("facteur", filepath.Join(f.Dir, "facteur.log"), nil, f.Bin, role, "-data", f.data(), "-bind", f.Bind)
	if err != nil {
		return err
	}
	ctl := filepath.Join(f.data(), "ctl.sock")
	err = waitFor(ctx, "facteur listeners", 30*time.Second, f.proc.failed, func() error {
		if _, err := os.Stat(ctl); err != nil {
			return err
		}
		return dialable(f.SMTPAddr())
	})
	if err != nil {
		return err
	}
	admin := User{"admin@" + Domain, "admin-" + randomToken()}
	if _, err := run(ctx, 60*time.Second, []byte(admin.Password+"\n"), f.Bin, "setup", "-data", f.data(),
		"-hostname", "mail."+Domain, "-domain", Domain, "-admin", admin.Addr); err != nil {
		return fmt.Errorf("facteur setup: %w", err)
	}
	for _, u := range users {
		if _, err := run(ctx, 60*time.Second, []byte(u.Password+"\n"), f.Bin, "user", "add", "-data", f.data(), u.Addr); err != nil {
			return fmt.Errorf("facteur user add: %w", err)
		}
	}
	// Setup restarts the services; wait until they take mail again.
	return waitFor(ctx, "facteur after setup", 30*time.Second, f.proc.failed, func() error {
		return probe(f.SMTPAddr(), f.IMAPAddr(), users[0])
	})
}

func (f *Facteur) Stop() error {
	var err error
	if f.proc != nil {
		err = f.proc.stop(30 * time.Second)
	}
	if !f.Keep {
		err = errors.Join(err, os.RemoveAll(f.Dir))
	}
	return err
}
