package appliance

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogRing(t *testing.T) {
	var out bytes.Buffer
	ring := newLogRing(slog.NewTextHandler(&out, nil), 3)
	log := slog.New(ring)
	smtp := log.With("service", "smtp")
	smtp.Info("one", "remote", "192.0.2.1")
	log.With("service", "imap").Warn("two")
	smtp.Debug("hidden") // below Info: neither kept nor written
	log.WithGroup("g").Info("three", "k", "v")
	smtp.Error("four")
	got := ring.buf.recent("", "")
	if len(got) != 3 || got[0].Text != "two" || got[2].Text != "four" {
		t.Fatalf("ring kept %+v, want the last three, oldest first", got)
	}
	if got[1].Text != "three g.k=v" || got[0].Service != "imap" || got[2].Service != "smtp" {
		t.Errorf("lines = %+v", got)
	}
	if s := ring.buf.recent("smtp", ""); len(s) != 1 || s[0].Text != "four" {
		t.Errorf("smtp lines = %+v", s)
	}
	if s := ring.buf.recent("", "G.K"); len(s) != 1 {
		t.Errorf("filter (case-insensitive) = %+v", s)
	}
	if n := strings.Count(out.String(), "\n"); n != 4 || !strings.Contains(out.String(), "remote=192.0.2.1") {
		t.Errorf("the next handler got %d lines:\n%s", n, out.String())
	}
}

func TestMsgMetrics(t *testing.T) {
	m := &msgMetrics{}
	t0 := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	m.count(t0, true, false)
	m.count(t0.Add(10*time.Minute), true, true)
	m.count(t0.Add(2*time.Hour), false, true)
	m.count(t0.Add(2*time.Hour), false, false) // neither: not counted
	var nilM *msgMetrics
	nilM.count(t0, true, true) // nil-safe
	h := m.last24(t0.Add(2 * time.Hour))
	if len(h) != 24 {
		t.Fatalf("%d hours", len(h))
	}
	got := fmt.Sprintf("%d/%d %d/%d %d/%d", h[21].in, h[21].out, h[22].in, h[22].out, h[23].in, h[23].out)
	if got != "2/1 0/0 0/1" || !h[23].start.Equal(t0.Add(2*time.Hour).Truncate(time.Hour)) {
		t.Errorf("last hours = %s (last starts %v)", got, h[23].start)
	}
	// A day later the same slots hold nothing from the day before.
	if h := m.last24(t0.Add(26 * time.Hour)); h[19].in != 0 || h[21].out != 0 {
		t.Errorf("old counts survive a day: %+v", h)
	}
	m.count(t0.Add(24*time.Hour), true, false) // reuses 10:00's slot
	if h := m.last24(t0.Add(24 * time.Hour)); h[23].in != 1 || h[23].out != 0 {
		t.Errorf("reused slot = %+v", h[23])
	}
}
