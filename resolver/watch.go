package resolver

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"facteur/resolver/zone"
)

// watcher polls the snapshot file and applies every new version.
type watcher struct {
	path  string
	log   *slog.Logger
	apply func(*zone.Snapshot)
	last  os.FileInfo // the version applied (or that failed to load)
	err   string      // the last error logged, to log each problem once
}

func (w *watcher) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check()
		}
	}
}

// check loads the file if it is not the version seen last: another inode
// (the core renames a new file into place), size or mtime.
func (w *watcher) check() {
	fi, err := os.Stat(w.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.problem("dns snapshot missing; waiting for the core to write it", err)
		} else {
			w.problem("dns snapshot unreadable", err)
		}
		return
	}
	if w.last != nil && os.SameFile(w.last, fi) && fi.Size() == w.last.Size() && fi.ModTime().Equal(w.last.ModTime()) {
		return
	}
	w.last = fi
	s, err := zone.Load(w.path)
	if err != nil {
		w.problem("dns snapshot not loaded; keeping the previous one", err)
		return
	}
	w.err = ""
	w.apply(s)
}

func (w *watcher) problem(msg string, err error) {
	if err.Error() == w.err {
		return
	}
	w.err = err.Error()
	w.log.Warn(msg, slog.String("path", w.path), slog.Any("err", err))
}
