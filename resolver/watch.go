package resolver

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"slices"
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

	// connected lists the box's networks (netif.Connected); snap and
	// nets are the snapshot applied and the networks added to its LAN.
	connected func() []netip.Prefix
	snap      *zone.Snapshot
	nets      []netip.Prefix
	netsAt    time.Time // when nets were read
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
		w.networksChanged()
		return
	}
	w.last = fi
	s, err := zone.Load(w.path)
	if err != nil {
		w.problem("dns snapshot not loaded; keeping the previous one", err)
		return
	}
	w.err = ""
	w.snap = s
	w.applyWithNetworks()
}

// applyWithNetworks applies the snapshot, its LAN extended with the box's
// networks when it asks for them.
func (w *watcher) applyWithNetworks() {
	s := *w.snap
	if s.LANConnected && w.connected != nil {
		w.nets, w.netsAt = w.connected(), time.Now()
		s.LAN = append(slices.Clone(s.LAN), w.nets...)
	}
	w.apply(&s)
}

// networksChanged applies the snapshot again when the box's networks
// changed (a DHCP lease came, an address changed).
func (w *watcher) networksChanged() {
	if w.snap == nil || !w.snap.LANConnected || w.connected == nil || time.Since(w.netsAt) < 5*time.Second {
		return
	}
	now := w.connected()
	w.netsAt = time.Now()
	if !slices.Equal(now, w.nets) {
		w.log.Info("the box's networks changed; applying the dns snapshot again", slog.Any("networks", now))
		w.applyWithNetworks()
	}
}

func (w *watcher) problem(msg string, err error) {
	if err.Error() == w.err {
		return
	}
	w.err = err.Error()
	w.log.Warn(msg, slog.String("path", w.path), slog.Any("err", err))
}
