package update

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// agentRig runs the agent's loop on a fixture, with a feed served over
// HTTP on loopback and a clock the test moves.
type agentRig struct {
	*fixture
	t         *testing.T
	mu        sync.Mutex
	clock     time.Time
	reboots   atomic.Int32
	downloads atomic.Int32
	done      chan struct{}
}

func newAgentRig(t *testing.T, policy *Policy, bundle func(t *testing.T, f *fixture) (Manifest, string)) *agentRig {
	r := &agentRig{fixture: newFixture(t), t: t, done: make(chan struct{}),
		clock: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)}
	dir := Dir(r.dev.Perm)
	if bundle != nil {
		m, path := bundle(t, r.fixture)
		mux := http.NewServeMux()
		mux.HandleFunc("/feed.json", func(w http.ResponseWriter, _ *http.Request) {
			json.NewEncoder(w).Encode(Feed{Bundles: []FeedEntry{{Board: "pc", Channel: m.Channel,
				Version: m.Version, Build: m.Build, URL: "b.bundle"}}})
		})
		mux.HandleFunc("/b.bundle", func(w http.ResponseWriter, req *http.Request) {
			r.downloads.Add(1)
			http.ServeFile(w, req, path)
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "feed"), []byte(srv.URL+"/feed.json\n"), 0o600)
	}
	if policy != nil {
		if err := SavePolicy(dir, *policy); err != nil {
			t.Fatal(err)
		}
	}
	r.dev.Reboot = func() error { r.reboots.Add(1); return nil }
	a := &Agent{Device: r.dev, Firmware: r.fw, Logf: t.Logf, Tick: 10 * time.Millisecond, Now: r.now}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { a.serve(ctx); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func (r *agentRig) now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clock
}

func (r *agentRig) advance(d time.Duration) {
	r.mu.Lock()
	r.clock = r.clock.Add(d)
	r.mu.Unlock()
}

// waitStatus waits until the agent's status satisfies ok.
func (r *agentRig) waitStatus(what string, ok func(Status) bool) Status {
	r.t.Helper()
	var st Status
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		st, _ = ReadStatus(Dir(r.dev.Perm))
		if ok(st) {
			return st
		}
	}
	r.t.Fatalf("status never showed %s; last: %+v", what, st)
	return st
}

func (r *agentRig) slotBWritten() bool {
	b, _ := os.ReadFile(r.dev.Parts[3])
	return bytes.HasPrefix(b, r.root)
}

func goodBundle(t *testing.T, f *fixture) (Manifest, string) {
	m := good()
	m.Notes = "Faster IMAP search."
	return m, f.bundle(t, m, f.key)
}

func offered(st Status) bool { return st.Offer != nil }

func TestFeedOfferWaitsForTheNight(t *testing.T) {
	r := newAgentRig(t, &Policy{Auto: "night", TimeZone: "Europe/Paris", Hour: 3}, goodBundle)
	st := r.waitStatus("the offer", offered)
	if st.Offer.Version != "1.6" || st.Offer.Notes != "Faster IMAP search." || st.Offer.Source != "feed" {
		t.Errorf("offer = %+v", st.Offer)
	}
	// 15:00 UTC on 23 November is 16:00 in Paris; 03:00 there is 02:00 UTC.
	if want := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC); !st.Scheduled.Equal(want) {
		t.Errorf("scheduled at %v, want %v", st.Scheduled, want)
	}
	if st.Checked.IsZero() {
		t.Error("status does not say when the feed was checked")
	}
	time.Sleep(100 * time.Millisecond) // several ticks
	if r.slotBWritten() || r.reboots.Load() != 0 {
		t.Fatal("installed before the night")
	}
	r.advance(11 * time.Hour)
	r.waitStatus("the reboot", func(s Status) bool { return s.Phase == "rebooting" })
	if !r.slotBWritten() || r.reboots.Load() != 1 {
		t.Errorf("slot b written %v, reboots %d", r.slotBWritten(), r.reboots.Load())
	}
	if st, _ := LoadState(r.dev.Perm); st.Pending == nil || st.Pending.Build != 6 {
		t.Errorf("pending = %+v", st.Pending)
	}
}

func TestInstallNowOnRequest(t *testing.T) {
	r := newAgentRig(t, &Policy{Auto: "off"}, goodBundle)
	st := r.waitStatus("the offer", offered)
	if !st.Scheduled.IsZero() {
		t.Fatalf("policy off, yet scheduled at %v", st.Scheduled)
	}
	if err := SendRequest(Dir(r.dev.Perm), Request{Action: "install"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus("the reboot", func(s Status) bool { return s.Phase == "rebooting" })
	if !r.slotBWritten() {
		t.Error("slot b not written")
	}
}

func TestCancelKeepsTheOffer(t *testing.T) {
	r := newAgentRig(t, nil, goodBundle) // default policy: tonight
	r.waitStatus("a planned installation", func(s Status) bool { return s.Offer != nil && !s.Scheduled.IsZero() })
	SendRequest(Dir(r.dev.Perm), Request{Action: "cancel"})
	r.waitStatus("the cancellation", func(s Status) bool { return s.Offer != nil && s.Scheduled.IsZero() })
	SendRequest(Dir(r.dev.Perm), Request{Action: "check"})
	r.advance(24 * time.Hour)
	time.Sleep(100 * time.Millisecond)
	if st, _ := ReadStatus(Dir(r.dev.Perm)); !st.Scheduled.IsZero() || r.slotBWritten() {
		t.Errorf("cancelled update came back: scheduled %v, written %v", st.Scheduled, r.slotBWritten())
	}
}

func TestRefusedBundleNotDownloadedAgain(t *testing.T) {
	other, _, _ := NewKey(KindRelease)
	bad := func(t *testing.T, f *fixture) (Manifest, string) { return good(), f.bundle(t, good(), other) }
	r := newAgentRig(t, &Policy{Auto: "now"}, bad)
	st := r.waitStatus("the refusal", func(s Status) bool { return s.Error != "" })
	if !strings.Contains(st.Error, "refused") || st.Offer != nil {
		t.Errorf("status = %+v", st)
	}
	for i := 0; i < 3; i++ { // the feed is due again each time
		r.advance(7 * time.Hour)
		time.Sleep(50 * time.Millisecond)
	}
	if n := r.downloads.Load(); n != 1 {
		t.Errorf("refused bundle downloaded %d times, want 1", n)
	}
	SendRequest(Dir(r.dev.Perm), Request{Action: "check"})
	for end := time.Now().Add(10 * time.Second); r.downloads.Load() < 2 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if r.downloads.Load() != 2 {
		t.Error("a check asked by the admin did not download the bundle again")
	}
	if r.slotBWritten() {
		t.Error("refused bundle written")
	}
	hist, _ := LoadState(r.dev.Perm)
	if len(hist.History) == 0 || hist.History[0].What != "refused" {
		t.Errorf("history = %+v", hist.History)
	}
}

func TestUploadedBundle(t *testing.T) {
	r := newAgentRig(t, nil, nil)
	dir := Dir(r.dev.Perm)
	keys, _ := LoadKeyring(r.dev.Keys)
	other, _, _ := NewKey(KindRelease)
	badPath := r.bundle(t, good(), other)
	bad, _ := os.Open(badPath)
	defer bad.Close()
	if _, err := StageUpload(dir, bad, -1, 1<<30, keys, r.fw); err == nil || !strings.Contains(err.Error(), "does not trust") {
		t.Fatalf("untrusted upload: %v", err)
	}
	if _, ok := StagedUpload(dir); ok {
		t.Fatal("a refused upload stayed staged")
	}
	f, _ := os.Open(r.bundle(t, good(), r.key))
	defer f.Close()
	m, err := StageUpload(dir, f, 1000, 1<<30, keys, r.fw)
	if err != nil || m.Build != 6 {
		t.Fatalf("StageUpload: %+v, %v", m, err)
	}
	if sm, ok := StagedUpload(dir); !ok || sm.Version != "1.6" {
		t.Fatalf("StagedUpload = %+v, %v", sm, ok)
	}
	if r.slotBWritten() {
		t.Fatal("an upload alone wrote the slot")
	}
	SendRequest(dir, Request{Action: "install", Source: "upload", At: r.now().Add(time.Hour)})
	st := r.waitStatus("the planned upload", func(s Status) bool { return s.Offer != nil && !s.Scheduled.IsZero() })
	if st.Offer.Source != "upload" {
		t.Errorf("offer = %+v", st.Offer)
	}
	r.advance(2 * time.Hour)
	r.waitStatus("the reboot", func(s Status) bool { return s.Phase == "rebooting" })
	if !r.slotBWritten() {
		t.Error("uploaded bundle not written to slot b")
	}
	if _, err := os.Stat(filepath.Join(dir, UploadFile)); err == nil {
		t.Error("installed upload left on /perm")
	}
}

func TestUploadTooLarge(t *testing.T) {
	f := newFixture(t)
	keys, _ := LoadKeyring(f.dev.Keys)
	_, err := StageUpload(Dir(f.dev.Perm), strings.NewReader(strings.Repeat("x", 2000)), -1, 1000, keys, f.fw)
	if err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("got %v", err)
	}
}

func TestUploadNeedsSpace(t *testing.T) {
	f := newFixture(t)
	keys, _ := LoadKeyring(f.dev.Keys)
	_, err := StageUpload(Dir(f.dev.Perm), strings.NewReader("x"), 1<<60, 1<<62, keys, f.fw)
	if err == nil || !strings.Contains(err.Error(), "not enough space") {
		t.Errorf("got %v", err)
	}
}

func TestNextNight(t *testing.T) {
	paris := Location("Europe/Paris")
	for _, tc := range []struct{ now, want string }{
		{"2026-11-23T15:00:00Z", "2026-11-24T02:00:00Z"},
		{"2026-11-24T01:30:00Z", "2026-11-24T02:00:00Z"},
		{"2026-11-24T02:00:00Z", "2026-11-25T02:00:00Z"},
		{"2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"}, // summer time starts that night
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		want, _ := time.Parse(time.RFC3339, tc.want)
		if got := NextNight(now, paris, 3); !got.Equal(want) {
			t.Errorf("NextNight(%s) = %v, want %v", tc.now, got.UTC(), want)
		}
	}
}

func TestPolicyChannel(t *testing.T) {
	beta := func(t *testing.T, f *fixture) (Manifest, string) {
		m := good()
		m.Channel = "beta"
		return m, f.bundle(t, m, f.key)
	}
	r := newAgentRig(t, &Policy{Auto: "off"}, beta)
	st := r.waitStatus("a check", func(s Status) bool { return !s.Checked.IsZero() })
	if st.Offer != nil {
		t.Fatalf("a stable box was offered a beta build: %+v", st.Offer)
	}
	if err := SavePolicy(Dir(r.dev.Perm), Policy{Auto: "off", Channel: "beta"}); err != nil {
		t.Fatal(err)
	}
	SendRequest(Dir(r.dev.Perm), Request{Action: "check"})
	r.waitStatus("the beta offer", offered)
}
