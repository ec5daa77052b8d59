package appliance

import (
	"sync"
	"time"
)

// msgMetrics counts messages in (delivered to a local mailbox) and out
// (queued for another server) per hour over the last 24 hours, for the
// dashboard's chart. The counts are kept in memory only: they start again
// at zero when the core restarts.
type msgMetrics struct {
	// mu guards hours.
	mu    sync.Mutex
	hours [24]hourCount
}

type hourCount struct {
	start   time.Time // the hour, truncated
	in, out int
}

// count records one delivered message; nil-safe.
func (m *msgMetrics) count(now time.Time, in, out bool) {
	if m == nil || !in && !out {
		return
	}
	h := now.Truncate(time.Hour)
	m.mu.Lock()
	defer m.mu.Unlock()
	slot := &m.hours[h.Unix()/3600%24]
	if !slot.start.Equal(h) {
		*slot = hourCount{start: h}
	}
	if in {
		slot.in++
	}
	if out {
		slot.out++
	}
}

// last24 returns the 24 hours ending with now's, oldest first.
func (m *msgMetrics) last24(now time.Time) []hourCount {
	cur := now.Truncate(time.Hour)
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]hourCount, 24)
	for i := range out {
		h := cur.Add(time.Duration(i-23) * time.Hour)
		out[i] = hourCount{start: h}
		if slot := m.hours[h.Unix()/3600%24]; slot.start.Equal(h) {
			out[i] = slot
		}
	}
	return out
}
