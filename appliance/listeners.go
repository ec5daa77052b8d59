package appliance

import (
	"net"
	"sync"
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
// ports, without a window in which connections are refused. A connection
// accepted just as a round ends is handed to the next round, not dropped.
type keptListener struct {
	deadliner
	handoff chan net.Conn
	closed  atomic.Bool
}

// handoffs holds, per socket, the connections accepted by a round that had
// already ended.
var handoffs sync.Map // deadliner → chan net.Conn

// keep wraps l for one round of serving.
func keep(l net.Listener) net.Listener {
	d, ok := l.(deadliner)
	if !ok {
		return l
	}
	d.SetDeadline(time.Time{})
	ch, _ := handoffs.LoadOrStore(d, make(chan net.Conn, 64))
	return &keptListener{deadliner: d, handoff: ch.(chan net.Conn)}
}

func (l *keptListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.handoff:
		return c, nil
	default:
	}
	c, err := l.deadliner.Accept()
	if l.closed.Load() {
		if c != nil {
			select {
			case l.handoff <- c: // the next round serves it
			default:
				c.Close()
			}
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

// dropHandoff closes connections still waiting for a round that will not
// come.
func dropHandoff(l net.Listener) {
	ch, ok := handoffs.LoadAndDelete(l)
	if !ok {
		return
	}
	for {
		select {
		case c := <-ch.(chan net.Conn):
			c.Close()
		default:
			return
		}
	}
}
