package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Feed is the JSON document at the update feed URL.
type Feed struct {
	Bundles []FeedEntry `json:"bundles"`
}

// FeedEntry announces one bundle; URL may be relative to the feed.
type FeedEntry struct {
	Board   string `json:"board"`
	Channel string `json:"channel"`
	Version string `json:"version"`
	Build   uint64 `json:"build"`
	Notes   string `json:"notes,omitempty"`
	Size    int64  `json:"size"`
	URL     string `json:"url"`
}

// Pick returns the newest entry for the board and channel above build.
func (f Feed) Pick(board, channel string, build uint64) (FeedEntry, bool) {
	var best FeedEntry
	for _, e := range f.Bundles {
		if e.Board == board && (e.Channel == channel || channel == "") && e.Build > build && e.Build > best.Build {
			best = e
		}
	}
	return best, best.Build != 0
}

var httpClient = &http.Client{Timeout: 30 * time.Minute}

// checkFeed looks at the feed; a newer bundle is downloaded, verified
// and offered (then scheduled by the admin's policy). What happens is in
// the status.
func (a *Agent) checkFeed(ctx context.Context, feedURL string) {
	st := &a.status
	st.Checked, st.CheckError = a.now().UTC(), ""
	defer a.publish()
	e, ok, err := a.pickFromFeed(ctx, feedURL)
	if err != nil {
		st.CheckError = err.Error()
		a.Logf("update: %v", err)
		return
	}
	if !ok || (st.Offer != nil && st.Offer.Build >= e.Build) {
		a.schedule()
		return
	}
	path, err := a.fetch(ctx, feedURL, e)
	if err != nil {
		st.Error = err.Error()
		a.Logf("update: %v", err)
		return
	}
	m, err := a.verifyDownload(path, e)
	if err != nil {
		return
	}
	st.Offer, st.Scheduled = &Offer{Version: m.Version, Build: m.Build, Notes: m.Notes, Source: "feed", path: path}, time.Time{}
	a.Logf("update: %s (build %d) downloaded and verified", m.Version, m.Build)
	a.schedule()
}

// pickFromFeed returns the newest entry the box should take, leaving out
// builds that were rolled back or refused before.
func (a *Agent) pickFromFeed(ctx context.Context, feedURL string) (FeedEntry, bool, error) {
	var f Feed
	if err := getJSON(ctx, feedURL, &f); err != nil {
		return FeedEntry{}, false, fmt.Errorf("feed %s: %w", feedURL, err)
	}
	st, err := LoadState(a.Device.Perm)
	if err != nil {
		return FeedEntry{}, false, err
	}
	var offered Feed
	for _, e := range f.Bundles {
		if !st.rolledBack(e.Build) && !slices.Contains(st.Refused, e.Build) {
			offered.Bundles = append(offered.Bundles, e)
		}
	}
	channel := ReadPolicy(Dir(a.Device.Perm), ImagePolicy()).Channel
	if channel == "" {
		channel = a.Firmware.Channel
	}
	e, ok := offered.Pick(a.Firmware.Board, channel, a.Firmware.Build)
	return e, ok, nil
}

// fetch downloads the entry's bundle, showing progress.
func (a *Agent) fetch(ctx context.Context, feedURL string, e FeedEntry) (string, error) {
	base, _ := url.Parse(feedURL)
	ref, err := url.Parse(e.URL)
	if err != nil {
		return "", err
	}
	a.Logf("update: downloading %s (build %d)", e.Version, e.Build)
	st := &a.status
	st.Phase, st.Done, st.Total = "downloading", 0, e.Size
	a.publish()
	last := time.Now()
	progress := func(n int64) {
		st.Done = n
		if time.Since(last) > time.Second {
			last = time.Now()
			a.publish()
		}
	}
	defer func() { st.Phase, st.Done, st.Total = "", 0, 0 }()
	return Download(ctx, base.ResolveReference(ref).String(), Dir(a.Device.Perm), e.Size, progress)
}

// verifyDownload checks a downloaded bundle before offering it; a refused
// one is deleted, recorded, and not downloaded again until the admin
// asks for a new check.
func (a *Agent) verifyDownload(path string, e FeedEntry) (Manifest, error) {
	keys, err := LoadKeyring(a.Device.Keys)
	if err != nil {
		return Manifest{}, err
	}
	m, err := Verify(path, keys, a.Firmware, false)
	if err == nil {
		return m, nil
	}
	os.Remove(path)
	a.status.Error = fmt.Sprintf("%s (build %d) from the feed: %v", e.Version, e.Build, err)
	a.Logf("update: %s", a.status.Error)
	s, _ := LoadState(a.Device.Perm)
	s.log(a.now(), e.Version, e.Build, "refused", err.Error())
	s.Refused = append(s.Refused, e.Build)
	s.save(a.Device.Perm)
	return m, err
}

// install applies a bundle file and reboots into it.
func (a *Agent) install(path string, force bool) error {
	a.Logf("update: verifying %s and writing slot %s", filepath.Base(path), Other(a.Device.Slot))
	m, err := Apply(a.Device, path, a.Firmware, force)
	if err != nil {
		st, _ := LoadState(a.Device.Perm)
		st.log(time.Now(), m.Version, m.Build, "refused", err.Error())
		st.save(a.Device.Perm)
		return err
	}
	a.Logf("update: %s (build %d) written to slot %s; rebooting to test it", m.Version, m.Build, Other(a.Device.Slot))
	return a.Device.Reboot()
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// Download fetches u into dir/download.bundle, resuming a partial file left
// by an interrupted download (HTTP range request). It checks first that dir
// has room for size bytes.
// progress, if not nil, is told how many bytes the file has so far.
func Download(ctx context.Context, u, dir string, size int64, progress func(int64)) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	part := filepath.Join(dir, "download.partial")
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	have, _ := f.Seek(0, io.SeekEnd)
	if err := checkFree(dir, size-have); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return "", err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK, http.StatusRequestedRangeNotSatisfiable:
		// Start over: the server ignored the range or the file changed.
		if err := f.Truncate(0); err != nil {
			return "", err
		}
		f.Seek(0, io.SeekStart)
		if resp.StatusCode != http.StatusOK {
			return "", errors.New("download: server refused to resume; restarting next time")
		}
	default:
		return "", fmt.Errorf("download %s: %s", u, resp.Status)
	}
	var w io.Writer = f
	if progress != nil {
		have, _ = f.Seek(0, io.SeekCurrent)
		w = &counter{w: f, n: have, report: progress}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", fmt.Errorf("download interrupted (will resume): %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	done := filepath.Join(dir, "download.bundle")
	return done, os.Rename(part, done)
}

func checkFree(dir string, need int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return err
	}
	if free := int64(st.Bavail) * st.Bsize; need > 0 && free < need+16<<20 {
		return fmt.Errorf("not enough space on %s for the update: %d bytes free, %d needed", dir, free, need)
	}
	return nil
}

// Install verifies and applies the bundle at path, then reboots into it
// (facteur update apply). force allows an older or equal build.
func Install(d *Device, fw Firmware, path string, force bool, logf func(string, ...any)) error {
	a := &Agent{Device: d, Firmware: fw, Logf: logf}
	return a.install(path, force)
}

// counter reports the bytes written through it.
type counter struct {
	w      io.Writer
	n      int64
	report func(int64)
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.report(c.n)
	return n, err
}
