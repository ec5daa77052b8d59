package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"facteur/appliance/update"
	"facteur/webui"
)

// UpdateOptions connect the web UI's update page to the device's update
// agent (appliance/update, run by init): they share files in
// Perm/update.
type UpdateOptions struct {
	Perm     string // the data partition, /perm on the device
	Keys     string // the trusted public keys
	Firmware update.Firmware
}

// updateDir is where the core and the agent share files; "" outside the
// firmware image.
func (c *Core) updateDir() string {
	if c.opts.Update == nil {
		return ""
	}
	return update.Dir(c.opts.Update.Perm)
}

// updatePolicy returns the admin's policy with the box's current time
// zone, saving it when the zone changed so that the agent's "tonight"
// follows the settings.
func (c *Core) updatePolicy() update.Policy {
	dir := c.updateDir()
	p := update.ReadPolicy(dir, update.ImagePolicy())
	if tz := c.Settings().TimeZone; tz != p.TimeZone {
		p.TimeZone = tz
		if err := update.SavePolicy(dir, p); err != nil {
			c.log.Warn("update policy", "err", err)
		}
	}
	return p
}

// updateReady names the update the agent offers, for the dashboard.
func (c *Core) updateReady() string {
	if c.opts.Update == nil {
		return ""
	}
	st, err := update.ReadStatus(c.updateDir())
	if err != nil || st.Offer == nil {
		return ""
	}
	return fmt.Sprintf("%s (build %d)", st.Offer.Version, st.Offer.Build)
}

func (b *webBackend) Updates(ctx context.Context) (*webui.Updates, error) {
	c := b.c
	u := &webui.Updates{Version: firmwareVersion(), Percent: -1}
	if c.opts.Update == nil {
		return u, nil
	}
	fw := c.opts.Update.Firmware
	u.Version, u.Build, u.Board, u.Channel, u.Managed = fw.Version, fw.Build, fw.Board, fw.Channel, true
	dir := c.updateDir()
	p := c.updatePolicy()
	loc := update.Location(p.TimeZone)
	u.Auto, u.Night, u.Follow = p.Auto, fmt.Sprintf("%02d:00 %s", p.Hour, loc), p.Channel
	u.Feed = update.FeedURL(c.opts.Update.Perm)
	st, err := update.ReadStatus(dir)
	if err != nil {
		return nil, err
	}
	u.AgentAlive = time.Since(st.Time) < time.Minute
	u.Checked, u.CheckError, u.Error, u.Phase = st.Checked.In(loc), st.CheckError, st.Error, st.Phase
	u.Scheduled = st.Scheduled.In(loc)
	if st.Total > 0 {
		u.Percent = int(st.Done * 100 / st.Total)
	}
	if o := st.Offer; o != nil {
		u.Offer = &webui.UpdateOffer{Version: o.Version, Build: o.Build, Notes: o.Notes, Source: o.Source}
	}
	if m, ok := update.StagedUpload(dir); ok && (u.Offer == nil || u.Offer.Source != "upload") {
		u.Uploaded = &webui.UpdateOffer{Version: m.Version, Build: m.Build, Notes: m.Notes, Source: "upload"}
	}
	state, err := update.LoadState(c.opts.Update.Perm)
	if err != nil {
		return nil, err
	}
	if pd := state.Pending; pd != nil {
		u.Testing = fmt.Sprintf("Version %s (build %d) was installed and is being tested; it is kept if mail works after the restart.", pd.Version, pd.Build)
	}
	for i := len(state.History) - 1; i >= 0; i-- {
		e := state.History[i]
		u.History = append(u.History, webui.UpdateEvent{Time: e.Time.In(loc), Version: e.Version, Build: e.Build, What: e.What, Detail: e.Detail})
	}
	return u, nil
}

// firmwareVersion is the version outside the image (dev mode).
func firmwareVersion() string {
	if v := os.Getenv("FACTEUR_FIRMWARE"); v != "" {
		return v
	}
	return "development build"
}

func (b *webBackend) UploadUpdate(ctx context.Context, r io.Reader, size int64) (webui.UpdateOffer, error) {
	o := b.c.opts.Update
	if o == nil {
		return webui.UpdateOffer{}, errNoUpdates
	}
	keys, err := update.LoadKeyring(o.Keys)
	if err != nil {
		return webui.UpdateOffer{}, err
	}
	m, err := update.StageUpload(b.c.updateDir(), r, size, maxUpload, keys, o.Firmware)
	if err != nil {
		b.c.log.Warn("update upload refused", "err", err)
		return webui.UpdateOffer{}, err
	}
	b.c.log.Info("update uploaded", "version", m.Version, "build", m.Build)
	return webui.UpdateOffer{Version: m.Version, Build: m.Build, Notes: m.Notes, Source: "upload"}, nil
}

// maxUpload bounds an uploaded bundle (a root image and a kernel).
const maxUpload = 1 << 30

var errNoUpdates = errors.New("this box is in development mode: there is no update service")

func (b *webBackend) UpdateAction(ctx context.Context, action string) error {
	if b.c.opts.Update == nil {
		return errNoUpdates
	}
	src, when, _ := strings.Cut(action, "-")
	r := update.Request{Action: action}
	switch action {
	case "install-now", "install-tonight", "upload-now", "upload-tonight":
		r.Action = "install"
		if src == "upload" {
			r.Source = "upload"
		}
		if when == "tonight" {
			p := b.c.updatePolicy()
			r.At = update.NextNight(time.Now(), update.Location(p.TimeZone), p.Hour)
		}
	case "check", "cancel", "discard":
	default:
		return fmt.Errorf("unknown request %q", action)
	}
	return update.SendRequest(b.c.updateDir(), r)
}

func (b *webBackend) SetUpdatePolicy(ctx context.Context, s webui.UpdateSettings) error {
	o := b.c.opts.Update
	if o == nil {
		return errNoUpdates
	}
	p := b.c.updatePolicy()
	p.Auto, p.Channel = s.Auto, s.Channel
	if err := update.SavePolicy(b.c.updateDir(), p); err != nil {
		return err
	}
	if s.Feed == update.FeedURL(o.Perm) {
		return nil
	}
	if s.Feed == imageFeed() {
		s.Feed = "" // back to the image's
	}
	return update.SetFeed(o.Perm, s.Feed)
}

// imageFeed is the feed baked into the image.
func imageFeed() string {
	b, _ := os.ReadFile(update.RootEtc + "/update-feed")
	return strings.TrimSpace(string(b))
}
