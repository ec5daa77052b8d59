package update

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// The web UI (the core, `facteur serve`) and the agent (in init) share
// these files in <perm>/update; each file has one writer:
//
//	status.json   the agent: what it found, what it does, progress
//	request.json  the core: one request, taken (deleted) by the agent
//	policy.json   the core: automatic installation and time zone
//	upload.bundle the core: a bundle uploaded through the web UI
const (
	statusFile  = "status.json"
	requestFile = "request.json"
	policyFile  = "policy.json"
	// UploadFile is the bundle the web UI staged.
	UploadFile = "upload.bundle"
)

// Status is what the agent reports to the web UI.
type Status struct {
	// Checked is the last look at the update feed; CheckError its failure.
	Checked    time.Time `json:"checked,omitzero"`
	CheckError string    `json:"check_error,omitempty"`
	// Offer is a newer bundle, downloaded and verified, waiting to be
	// installed.
	Offer *Offer `json:"offer,omitempty"`
	// Phase is "" (idle), "downloading", "installing" or "rebooting";
	// Done and Total count the bytes of the phase when known.
	Phase string `json:"phase,omitempty"`
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
	// Scheduled is when the offer will be installed (zero: not planned).
	Scheduled time.Time `json:"scheduled,omitzero"`
	// Error is the last download or installation failure.
	Error string    `json:"error,omitempty"`
	Time  time.Time `json:"time"`
}

// Offer is a bundle ready to install.
type Offer struct {
	Version string `json:"version"`
	Build   uint64 `json:"build"`
	Notes   string `json:"notes,omitempty"`
	// Source is "feed" or "upload".
	Source string `json:"source"`
	path   string
}

// Request is what the admin asks the agent to do.
type Request struct {
	// Action is "check" (look at the feed now), "install" (the offer, or
	// the uploaded bundle when Source is "upload"), "cancel" (forget the
	// planned installation) or "discard" (delete the uploaded bundle).
	Action string `json:"action"`
	Source string `json:"source,omitempty"`
	// At is when to install; zero means now.
	At time.Time `json:"at,omitzero"`
}

// Policy says when the agent installs what the feed offers.
type Policy struct {
	// Auto is "night" (the next night at Hour, the default), "now" or
	// "off" (only when the admin asks).
	Auto string `json:"auto"`
	// TimeZone is the box's IANA time zone; Hour is local.
	TimeZone string `json:"time_zone,omitempty"`
	Hour     int    `json:"hour"`
	// Channel is "stable" or "beta"; "" means the image's channel.
	Channel string `json:"channel,omitempty"`
}

// Channels are the valid Policy.Channel values.
var Channels = []string{"", "stable", "beta"}

// Autos are the valid Policy.Auto values.
var Autos = []string{"night", "now", "off"}

// DefaultPolicy is used until the admin chooses: install at 03:00.
var DefaultPolicy = Policy{Auto: "night", Hour: 3}

// Dir is where the agent and the core share their files.
func Dir(perm string) string { return filepath.Join(perm, "update") }

// ReadStatus reads the agent's status; a missing file is an empty status.
func ReadStatus(dir string) (Status, error) {
	var s Status
	return s, readJSON(filepath.Join(dir, statusFile), &s)
}

// SendRequest leaves a request for the agent, replacing one it has not
// taken yet.
func SendRequest(dir string, r Request) error {
	return writeJSON(filepath.Join(dir, requestFile), r)
}

// takeRequest reads and removes the pending request, if any.
func takeRequest(dir string) (Request, bool) {
	var r Request
	p := filepath.Join(dir, requestFile)
	if err := readJSON(p, &r); err != nil || r.Action == "" {
		return r, false
	}
	os.Remove(p)
	return r, true
}

// ReadPolicy returns the admin's policy, or def when none was saved.
func ReadPolicy(dir string, def Policy) Policy {
	p := def
	if err := readJSON(filepath.Join(dir, policyFile), &p); err != nil || !validAuto(p.Auto) {
		return def
	}
	return p
}

// SavePolicy stores the admin's policy.
func SavePolicy(dir string, p Policy) error {
	if !validAuto(p.Auto) {
		return fmt.Errorf("automatic installation %q: want night, now or off", p.Auto)
	}
	if !slices.Contains(Channels, p.Channel) {
		return fmt.Errorf("channel %q: want stable or beta", p.Channel)
	}
	if p.Hour < 0 || p.Hour > 23 {
		return fmt.Errorf("hour %d: want 0 to 23", p.Hour)
	}
	return writeJSON(filepath.Join(dir, policyFile), p)
}

func validAuto(s string) bool { return slices.Contains(Autos, s) }

// SetFeed stores the admin's update feed address ("" goes back to the
// image's).
func SetFeed(perm, feed string) error {
	p := filepath.Join(Dir(perm), "feed")
	if feed == "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	u, err := url.Parse(feed)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("update address %q: want an http:// or https:// URL", feed)
	}
	if err := os.MkdirAll(Dir(perm), 0o700); err != nil {
		return err
	}
	return writeFileSync(p, []byte(feed+"\n"))
}

// NextNight is the first time at hour:00 in loc after now.
func NextNight(now time.Time, loc *time.Location, hour int) time.Time {
	n := now.In(loc)
	t := time.Date(n.Year(), n.Month(), n.Day(), hour, 0, 0, 0, loc)
	if !t.After(now) {
		t = time.Date(n.Year(), n.Month(), n.Day()+1, hour, 0, 0, 0, loc)
	}
	return t
}

// Location loads an IANA zone name; unknown or empty names give UTC.
func Location(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}

// StageUpload copies an uploaded bundle to dir/upload.bundle, then verifies
// it as the agent will (signature, board, build, every artifact's hash);
// a refused bundle is deleted. size, when known (> 0), is checked against
// the free space first; max bounds the size.
func StageUpload(dir string, r io.Reader, size, max int64, keys Keyring, fw Firmware) (Manifest, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Manifest{}, err
	}
	if err := checkFree(dir, size); err != nil {
		return Manifest{}, err
	}
	tmp, err := os.CreateTemp(dir, "upload-*.partial")
	if err != nil {
		return Manifest{}, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(r, max+1))
	if errors.Is(err, syscall.ENOSPC) {
		err = errors.New("not enough space on the box for this file")
	}
	if err == nil && n > max {
		err = fmt.Errorf("the file is larger than %d MiB: not an update bundle", max>>20)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Manifest{}, err
	}
	m, err := Verify(tmp.Name(), keys, fw, false)
	if err != nil {
		return m, err
	}
	return m, os.Rename(tmp.Name(), filepath.Join(dir, UploadFile))
}

// StagedUpload returns the manifest of the uploaded bundle waiting in dir.
func StagedUpload(dir string) (Manifest, bool) {
	f, err := os.Open(filepath.Join(dir, UploadFile))
	if err != nil {
		return Manifest{}, false
	}
	defer f.Close()
	mb, _, err := readHead(tar.NewReader(f))
	if err != nil {
		return Manifest{}, false
	}
	var m Manifest
	return m, json.Unmarshal(mb, &m) == nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSON replaces path atomically.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(path, b)
}
