package update

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// serve is the agent's loop: it takes the admin's requests, looks at the
// feed every interval, and installs the offer when its time comes. It
// returns when ctx ends or the box reboots into an update.
func (a *Agent) serve(ctx context.Context) {
	dir := Dir(a.Device.Perm)
	a.status = Status{}
	a.publish()
	var next time.Time // when the feed is due
	for {
		if r, ok := takeRequest(dir); ok {
			next = a.handle(r, next)
		}
		if url := a.feedURL(); url != "" && !a.now().Before(next) {
			a.checkFeed(ctx, url)
			next = a.now().Add(a.interval())
		}
		if a.installIfDue() {
			return
		}
		if time.Since(a.status.Time) > 20*time.Second {
			a.publish() // a heartbeat: the web UI tells a dead agent
		}
		tick := a.Tick
		if tick == 0 {
			tick = 2 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
	}
}

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// publish writes the status for the web UI, stamped with the wall clock.
func (a *Agent) publish() {
	a.status.Time = time.Now().UTC()
	if err := writeJSON(filepath.Join(Dir(a.Device.Perm), statusFile), a.status); err != nil {
		a.Logf("update: status: %v", err)
	}
}

// handle carries out one request and returns when the feed is due next.
func (a *Agent) handle(r Request, next time.Time) time.Time {
	a.Logf("update: the admin asks: %s %s", r.Action, r.Source)
	st := &a.status
	st.Error = ""
	switch r.Action {
	case "check":
		// Looking again also forgets refusals: a broken download is
		// fetched anew.
		if s, err := LoadState(a.Device.Perm); err == nil && len(s.Refused) > 0 {
			s.Refused = nil
			s.save(a.Device.Perm)
		}
		next = time.Time{}
	case "install":
		if r.Source == "upload" {
			a.offerUpload()
		}
		if st.Offer == nil {
			st.Error = "there is no update to install"
			break
		}
		st.Scheduled, a.held = r.At, 0
		if st.Scheduled.IsZero() {
			st.Scheduled = a.now()
		}
	case "cancel":
		if st.Offer != nil {
			a.held = st.Offer.Build
		}
		st.Scheduled = time.Time{}
	case "discard":
		os.Remove(filepath.Join(Dir(a.Device.Perm), UploadFile))
		if st.Offer != nil && st.Offer.Source == "upload" {
			st.Offer, st.Scheduled = nil, time.Time{}
		}
	default:
		st.Error = "unknown request " + r.Action
	}
	a.publish()
	return next
}

// offerUpload makes the staged upload the offer.
func (a *Agent) offerUpload() {
	path := filepath.Join(Dir(a.Device.Perm), UploadFile)
	m, ok := StagedUpload(Dir(a.Device.Perm))
	if !ok {
		return
	}
	a.status.Offer = &Offer{Version: m.Version, Build: m.Build, Notes: m.Notes, Source: "upload", path: path}
}

// schedule plans the feed's offer by the admin's policy.
func (a *Agent) schedule() {
	st := &a.status
	if st.Offer == nil || !st.Scheduled.IsZero() || a.held == st.Offer.Build {
		return
	}
	p := ReadPolicy(Dir(a.Device.Perm), ImagePolicy())
	switch p.Auto {
	case "now":
		st.Scheduled = a.now()
	case "night":
		st.Scheduled = NextNight(a.now(), Location(p.TimeZone), p.Hour)
	}
}

// ImagePolicy is DefaultPolicy unless the image says otherwise
// (RootEtc/update-auto: night, now or off).
func ImagePolicy() Policy {
	p := DefaultPolicy
	if b, err := os.ReadFile(filepath.Join(RootEtc, "update-auto")); err == nil && validAuto(strings.TrimSpace(string(b))) {
		p.Auto = strings.TrimSpace(string(b))
	}
	return p
}

// installIfDue installs the offer when its time has come; it reports
// whether the box is rebooting into it.
func (a *Agent) installIfDue() bool {
	st := &a.status
	if st.Offer == nil || st.Scheduled.IsZero() || a.now().Before(st.Scheduled) {
		return false
	}
	o := *st.Offer
	st.Phase, st.Done, st.Total = "installing", 0, 0
	a.publish()
	err := a.install(o.path, false)
	os.Remove(o.path)
	if err != nil {
		st.Offer, st.Scheduled, st.Phase = nil, time.Time{}, ""
		st.Error = "installing " + o.Version + ": " + err.Error()
		a.publish()
		return false
	}
	st.Phase = "rebooting"
	a.publish()
	return true
}
