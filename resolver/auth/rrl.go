package auth

import (
	"net/netip"
	"sync"
	"time"
)

// RRLOptions configure response rate limiting (in the spirit of NSD's
// rrl-ratelimit and BIND's RRL): responses to one client prefix beyond the
// rate in one second are dropped, except that every Slip-th dropped response
// goes out as an empty truncated reply, so a real client retries over TCP
// (which is never limited) while a spoofed victim gets no amplification.
type RRLOptions struct {
	// ResponsesPerSecond per prefix; 200 when zero; negative disables RRL.
	ResponsesPerSecond int
	// Slip: every Slip-th dropped response is sent truncated; 2 when zero;
	// negative never slips.
	Slip int
	// IPv4PrefixLen and IPv6PrefixLen group clients; 24 and 56 when zero.
	IPv4PrefixLen int
	IPv6PrefixLen int
	// MaxPrefixes bounds the table; 65536 when zero. When full, stale
	// entries are dropped, and if none are stale the table starts afresh.
	MaxPrefixes int
}

type rrlAction int

const (
	rrlSend rrlAction = iota
	rrlDrop
	rrlSlip
)

type rateLimiter struct {
	opts RRLOptions

	// mu protects buckets.
	mu      sync.Mutex
	buckets map[netip.Prefix]*rrlBucket
}

type rrlBucket struct {
	second  int64 // the unix second counted
	count   int   // responses in that second
	dropped int   // dropped responses, for slip
}

func newRateLimiter(o RRLOptions) *rateLimiter {
	if o.ResponsesPerSecond == 0 {
		o.ResponsesPerSecond = 200
	}
	if o.Slip == 0 {
		o.Slip = 2
	}
	if o.IPv4PrefixLen == 0 {
		o.IPv4PrefixLen = 24
	}
	if o.IPv6PrefixLen == 0 {
		o.IPv6PrefixLen = 56
	}
	if o.MaxPrefixes == 0 {
		o.MaxPrefixes = 65536
	}
	return &rateLimiter{opts: o, buckets: map[netip.Prefix]*rrlBucket{}}
}

// decide counts one response to addr at now and says what to do with it.
func (l *rateLimiter) decide(addr netip.Addr, now time.Time) rrlAction {
	if l.opts.ResponsesPerSecond < 0 || !addr.IsValid() {
		return rrlSend
	}
	bits := l.opts.IPv4PrefixLen
	if addr.Is6() {
		bits = l.opts.IPv6PrefixLen
	}
	p, _ := addr.Prefix(bits)
	sec := now.Unix()

	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[p]
	if b == nil {
		l.makeRoom(sec)
		b = &rrlBucket{second: sec}
		l.buckets[p] = b
	}
	if b.second != sec {
		b.second, b.count = sec, 0
	}
	b.count++
	if b.count <= l.opts.ResponsesPerSecond {
		return rrlSend
	}
	b.dropped++
	if l.opts.Slip > 0 && b.dropped%l.opts.Slip == 0 {
		return rrlSlip
	}
	return rrlDrop
}

// makeRoom keeps the table within MaxPrefixes. Called with mu held.
func (l *rateLimiter) makeRoom(sec int64) {
	if len(l.buckets) < l.opts.MaxPrefixes {
		return
	}
	for p, b := range l.buckets {
		if b.second < sec {
			delete(l.buckets, p)
		}
	}
	if len(l.buckets) >= l.opts.MaxPrefixes {
		clear(l.buckets)
	}
}
