package appliance

import (
	"net"
	"sync/atomic"
	"time"
)

// deadliner is a listener whose Accept can be interrupted by a deadline
// (*net.TCPListener, *net.UnixListener).
type deadliner interface {
	net.Listener
	SetDeadline(time.Time) error
}

// keptListener lets a server "close" its listener without closing the
// socket, so that the services can restart with new settings on the same
// ports, without a window in which connections are refused.
type keptListener struct {
	deadliner
	closed atomic.Bool
}

// keep wraps l for one round of serving.
func keep(l net.Listener) net.Listener {
	d, ok := l.(deadliner)
	if !ok {
		return l
	}
	d.SetDeadline(time.Time{})
	return &keptListener{deadliner: d}
}

func (l *keptListener) Accept() (net.Conn, error) {
	c, err := l.deadliner.Accept()
	if l.closed.Load() {
		if c != nil {
			c.Close()
		}
		return nil, net.ErrClosed
	}
	return c, err
}

// Close stops Accept; the socket stays open for the next round.
func (l *keptListener) Close() error {
	l.closed.Store(true)
	return l.deadliner.SetDeadline(time.Unix(1, 0))
}
