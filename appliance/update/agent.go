package update

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Agent runs on the device (in the init process, as root): after a test
// boot it checks health and commits or rolls back; then it polls the
// update feed.
type Agent struct {
	Device   *Device
	Firmware Firmware
	Logf     func(format string, args ...any)
	// HealthTimeout bounds the health check of a test boot (default 5m).
	HealthTimeout time.Duration
	// Health lists TCP addresses that must greet (default: SMTP on
	// 127.0.0.1:25 and IMAP on 127.0.0.1:143).
	Health []string
	// Tick is how often the agent looks for the admin's requests
	// (default 2s); Now is the clock (default time.Now).
	Tick time.Duration
	Now  func() time.Time

	status Status // what status.json says
	held   uint64 // a build the admin chose not to install yet
}

// Run handles a pending test boot, then serves the admin's requests and
// polls the feed until ctx ends or the box reboots into an update.
func (a *Agent) Run(ctx context.Context) {
	if err := a.afterBoot(ctx); err != nil {
		a.Logf("update: %v", err)
	}
	a.serve(ctx)
}

// afterBoot finishes a pending update: on the new slot, health check then
// commit or reboot; on the old slot, the test boot failed, so it records
// the rollback.
func (a *Agent) afterBoot(ctx context.Context) error {
	d := a.Device
	st, err := LoadState(d.Perm)
	if err != nil || st.Pending == nil {
		return err
	}
	p := *st.Pending
	if p.Slot != d.Slot {
		st.Pending = nil
		st.RolledBack = append(st.RolledBack, p.Build)
		st.log(time.Now(), p.Version, p.Build, "rolled back", "the test boot of slot "+p.Slot+" did not pass its health check; running "+a.Firmware.Version+" again")
		a.Logf("update: build %d was rolled back; still running %s", p.Build, a.Firmware.Version)
		return st.save(d.Perm)
	}
	if p.Booted {
		// Started twice on the test slot: cannot be a one-shot boot. Give
		// it up and go back.
		return a.rollback(st, p, "slot started twice without a commit")
	}
	st.Pending.Booted = true
	if err := st.save(d.Perm); err != nil {
		return err
	}
	a.Logf("update: test boot of %s (build %d): checking health", p.Version, p.Build)
	if err := a.checkHealth(ctx); err != nil {
		return a.rollback(st, p, err.Error())
	}
	if err := d.commit(d.Slot); err != nil {
		return a.rollback(st, p, "commit: "+err.Error())
	}
	st.Pending = nil
	st.log(time.Now(), p.Version, p.Build, "committed", "slot "+d.Slot)
	a.Logf("update: committed %s (build %d) on slot %s", p.Version, p.Build, d.Slot)
	return st.save(d.Perm)
}

func (a *Agent) rollback(st State, p Pending, why string) error {
	a.Logf("update: health check of %s failed (%s): rebooting into the previous slot", p.Version, why)
	st.Pending.Booted = true
	st.log(time.Now(), p.Version, p.Build, "health check failed", why)
	if err := st.save(a.Device.Perm); err != nil {
		a.Logf("update: %v", err)
	}
	return a.Device.Reboot()
}

// checkHealth waits until every health address greets, or the timeout.
func (a *Agent) checkHealth(ctx context.Context) error {
	timeout := a.HealthTimeout
	if timeout == 0 {
		timeout = readDuration(filepath.Join(RootEtc, "health-timeout"), 5*time.Minute)
	}
	addrs := a.Health
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:25", "127.0.0.1:143"}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, addr := range addrs {
		var err error
		for {
			if err = greets(ctx, addr); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s did not answer within %v: %v", addr, timeout, err)
			case <-time.After(2 * time.Second):
			}
		}
	}
	return nil
}

// greets connects to addr and reads an SMTP ("220") or IMAP ("* OK")
// greeting.
func greets(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") && !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", strings.TrimSpace(line))
	}
	return nil
}

// FeedURL is <perm>/update/feed if present (set by the admin), else the
// one baked into the image.
func FeedURL(perm string) string {
	for _, p := range []string{filepath.Join(Dir(perm), "feed"), filepath.Join(RootEtc, "update-feed")} {
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

func (a *Agent) feedURL() string { return FeedURL(a.Device.Perm) }

// interval is the poll interval (RootEtc/update-interval, default 6h)
// with ±10% jitter so that a fleet does not poll in step.
func (a *Agent) interval() time.Duration {
	d := readDuration(filepath.Join(RootEtc, "update-interval"), 6*time.Hour)
	return d + time.Duration((rand.Float64()-0.5)*0.2*float64(d))
}

// readDuration reads a duration ("90s") from a file, or returns def.
func readDuration(path string, def time.Duration) time.Duration {
	if b, err := os.ReadFile(path); err == nil {
		if v, err := time.ParseDuration(strings.TrimSpace(string(b))); err == nil && v > 0 {
			return v
		}
	}
	return def
}
