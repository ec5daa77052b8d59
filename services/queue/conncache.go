package queue

import (
	"sync"
	"time"
)

// connCache keeps connections to destination hosts open for a few seconds
// after a transaction, so the next message for the same place skips the
// TCP and TLS handshakes (as Postfix's connection cache does). A cached
// connection is checked with RSET before it is used again.
type connCache struct {
	mu   sync.Mutex
	idle map[string][]idleConn // destination key + host → idle connections
	max  int                   // per key and host
	ttl  time.Duration
}

type idleConn struct {
	c     *conn
	since time.Time
}

func newConnCache(max int) *connCache {
	return &connCache{idle: map[string][]idleConn{}, max: max, ttl: 5 * time.Second}
}

// get returns a live idle connection to host for key, or nil.
func (cc *connCache) get(key, host string) *conn {
	for {
		cc.mu.Lock()
		list := cc.idle[key+" "+host]
		if len(list) == 0 {
			cc.mu.Unlock()
			return nil
		}
		ic := list[len(list)-1]
		cc.idle[key+" "+host] = list[:len(list)-1]
		cc.mu.Unlock()
		if time.Since(ic.since) < cc.ttl && ic.c.Reset() == nil {
			return ic.c
		}
		ic.c.Close()
	}
}

// put keeps c for reuse, or says goodbye when enough are kept.
func (cc *connCache) put(key, host string, c *conn) {
	cc.mu.Lock()
	k := key + " " + host
	if len(cc.idle[k]) < cc.max {
		cc.idle[k] = append(cc.idle[k], idleConn{c, time.Now()})
		c = nil
	}
	cc.mu.Unlock()
	if c != nil {
		c.Quit()
		c.Close()
	}
}

// expire closes connections idle longer than the TTL; all with all.
func (cc *connCache) expire(all bool) {
	var old []*conn
	cc.mu.Lock()
	for k, list := range cc.idle {
		keep := list[:0]
		for _, ic := range list {
			if all || time.Since(ic.since) >= cc.ttl {
				old = append(old, ic.c)
			} else {
				keep = append(keep, ic)
			}
		}
		if len(keep) == 0 {
			delete(cc.idle, k)
		} else {
			cc.idle[k] = keep
		}
	}
	cc.mu.Unlock()
	for _, c := range old {
		c.Quit()
		c.Close()
	}
}
