package firewall

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateVersion is written into the state file.
const stateVersion = 1

// state is the role's small file: the ban records, so that bans outlive a
// restart of the role, and the last policy the kernel accepted, so that a
// box whose policy file has gone bad still boots with a firewall.
type state struct {
	Version   int        `json:"version"`
	Offenders []Offender `json:"offenders"`
	Policy    *Policy    `json:"policy,omitempty"`
}

// loadState reads the state file; a missing file is an empty state.
func loadState(path string) (state, error) {
	var st state
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read firewall state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("parse firewall state %s: %w", path, err)
	}
	if st.Version > stateVersion {
		return state{}, fmt.Errorf("firewall state %s has version %d, newer than %d", path, st.Version, stateVersion)
	}
	return st, nil
}

func saveState(path string, st state) error {
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return fmt.Errorf("save firewall state: %w", err)
	}
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save firewall state: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path, syncs it,
// and renames it over path, so a reader sees the old file or the new one,
// never a part.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(perm), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
