package update

import (
	"context"
	"math/rand/v2"
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
	// Health are the checks a test boot must pass (default:
	// DeviceChecks).
	Health []HealthCheck
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
