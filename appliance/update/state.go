package update

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is the agent's record in <perm>/update/state.json.
type State struct {
	// Pending is a slot written and test-booted but not yet committed.
	Pending *Pending `json:"pending,omitempty"`
	History []Event  `json:"history,omitempty"`
	// RolledBack lists builds whose test boot failed; the feed does not
	// offer them again (an admin can still apply one by hand).
	RolledBack []uint64 `json:"rolled_back,omitempty"`
	// Refused lists builds the feed offered that failed verification;
	// they are not downloaded again until the admin asks for a check.
	Refused []uint64 `json:"refused,omitempty"`
}

// rolledBack says whether build failed its test boot before.
func (s *State) rolledBack(build uint64) bool {
	for _, b := range s.RolledBack {
		if b == build {
			return true
		}
	}
	return false
}

// Pending describes the update under test.
type Pending struct {
	Slot    string `json:"slot"`
	Version string `json:"version"`
	Build   uint64 `json:"build"`
	// Booted is set by the new slot when it starts its health check; a
	// second start of the same slot means its first test boot died.
	Booted bool `json:"booted,omitempty"`
}

// Event is one line of the update history the UI shows.
type Event struct {
	Time    time.Time `json:"time"`
	Version string    `json:"version"`
	Build   uint64    `json:"build"`
	// What: "written", "committed", "rolled back", "refused".
	What   string `json:"what"`
	Detail string `json:"detail,omitempty"`
}

const maxHistory = 50

func statePath(perm string) string { return filepath.Join(perm, "update", "state.json") }

// LoadState reads the state; a missing file is an empty state.
func LoadState(perm string) (State, error) {
	var s State
	b, err := os.ReadFile(statePath(perm))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// save writes the state atomically (temp file, fsync, rename).
func (s *State) save(perm string) error {
	if len(s.History) > maxHistory {
		s.History = s.History[len(s.History)-maxHistory:]
	}
	p := statePath(perm)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	f, err := os.CreateTemp(filepath.Dir(p), "state")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

func (s *State) log(now time.Time, version string, build uint64, what, detail string) {
	s.History = append(s.History, Event{Time: now.UTC(), Version: version, Build: build, What: what, Detail: detail})
}
