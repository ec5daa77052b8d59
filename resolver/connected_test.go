package resolver

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"facteur/resolver/zone"
)

// TestWatcherAddsConnectedNetworks: a snapshot with LANConnected gets the
// box's networks in its LAN, and again when they change.
func TestWatcherAddsConnectedNetworks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zones.json")
	office := netip.MustParsePrefix("10.9.0.0/16")
	if err := zone.WriteFile(path, &zone.Snapshot{LAN: []netip.Prefix{office}, LANConnected: true}); err != nil {
		t.Fatal(err)
	}
	nets := []netip.Prefix{netip.MustParsePrefix("192.168.7.0/24")}
	var got []netip.Prefix
	w := &watcher{path: path, log: slog.New(slog.DiscardHandler),
		apply:     func(s *zone.Snapshot) { got = s.LAN },
		connected: func() []netip.Prefix { return slices.Clone(nets) }}
	w.check()
	if want := []netip.Prefix{office, nets[0]}; !slices.Equal(got, want) {
		t.Fatalf("LAN = %v, want %v", got, want)
	}
	nets = append(nets, netip.MustParsePrefix("fd00:7::/64"))
	w.netsAt = time.Time{} // the networks are due for a look
	w.check()
	if len(got) != 3 || got[2] != nets[1] {
		t.Errorf("after a new address, LAN = %v", got)
	}
	if w.snap.LAN[0] != office || len(w.snap.LAN) != 1 {
		t.Errorf("the snapshot itself was changed: %v", w.snap.LAN)
	}
}
