package webui

import (
	"net/netip"
	"sync"
	"time"
)

// Login rate limiting: after maxFailures failed logins (or setup tokens)
// within failWindow, an address is refused until the window passes. Each
// failure is also reported to the Backend, which feeds the firewall's bans.
const (
	maxFailures = 5
	failWindow  = 15 * time.Minute
	maxTracked  = 10000
)

type limiter struct {
	now func() time.Time

	// mu guards fails.
	mu    sync.Mutex
	fails map[netip.Addr][]time.Time
}

// allowed reports whether ip may try to log in now.
func (l *limiter) allowed(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recentLocked(ip)) < maxFailures
}

// failed records a failed attempt from ip.
func (l *limiter) failed(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= maxTracked {
		clear(l.fails) // a flood of addresses: start over rather than grow
	}
	l.fails[ip] = append(l.recentLocked(ip), l.now())
}

func (l *limiter) recentLocked(ip netip.Addr) []time.Time {
	var keep []time.Time
	for _, t := range l.fails[ip] {
		if l.now().Sub(t) < failWindow {
			keep = append(keep, t)
		}
	}
	if keep == nil {
		delete(l.fails, ip)
	} else {
		l.fails[ip] = keep
	}
	return keep
}
