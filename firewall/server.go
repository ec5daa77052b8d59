package firewall

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Limits of one socket connection.
const (
	maxRequestLine = 4096
	idleTimeout    = 30 * time.Second
)

// listenUnix listens on a unix socket that only its owner may use,
// replacing a stale socket left by an earlier run.
func listenUnix(path string, uid, gid int) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("firewall socket %s exists and is not a socket", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("firewall socket: %w", err)
	}
	err = os.Chmod(path, 0o600)
	if err == nil && (uid != 0 || gid != 0) {
		err = os.Chown(path, uid, gid)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("firewall socket: %w", err)
	}
	return l, nil
}

// server answers the role's socket.
type server struct {
	r *role
	l net.Listener

	mu     sync.Mutex // protects the fields below
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup // one per connection
}

// serve accepts connections until close.
func (s *server) serve() {
	for {
		c, err := s.l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say: wait, and try again.
			s.r.log.Error("firewall socket accept", slog.Any("err", err))
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if !s.track(c) {
			c.Close()
			return
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handleConn(c)
		}()
	}
}

func (s *server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[net.Conn]bool{}
	}
	s.conns[c] = true
	s.wg.Add(1)
	return true
}

func (s *server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

// close stops accepting, closes every connection and waits for their
// handlers.
func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	s.l.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// handleConn answers each request line with one response line.
func (s *server) handleConn(c net.Conn) {
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 512), maxRequestLine)
	enc := json.NewEncoder(c)
	for {
		c.SetDeadline(time.Now().Add(idleTimeout))
		if !sc.Scan() {
			if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.r.log.Debug("firewall socket", slog.Any("err", err))
			}
			return
		}
		var req Request
		resp := Response{}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else {
			resp = s.r.handle(req)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

// handle answers one request.
func (r *role) handle(req Request) Response {
	switch req.Type {
	case EventAuthFailure, EventAbuse, EventScan:
		if !req.IP.IsValid() {
			return failed(errors.New("event without an address"))
		}
		return r.event(req)
	case RequestBan, RequestUnban:
		return r.handleBan(req)
	}
	return r.handleQuery(req)
}

func failed(err error) Response { return Response{Error: err.Error()} }

// handleBan answers an admin's ban or unban.
func (r *role) handleBan(req Request) Response {
	if !req.IP.IsValid() {
		return failed(fmt.Errorf("%s without an address", req.Type))
	}
	var err error
	if req.Type == RequestBan {
		err = r.ban(req.IP, time.Duration(req.Duration))
	} else {
		err = r.unban(req.IP)
	}
	if err != nil {
		return failed(err)
	}
	return Response{OK: true}
}

// handleQuery answers the requests that change no ban.
func (r *role) handleQuery(req Request) Response {
	var resp Response
	var err error
	switch req.Type {
	case RequestBans:
		resp.Bans, err = r.kernel.bans()
	case RequestShow:
		resp.Ruleset, err = r.show()
	case RequestCounters:
		resp.Counters, err = r.kernel.counters()
	case RequestReload:
		err = r.reload(true)
	default:
		err = fmt.Errorf("unknown request type %q", req.Type)
	}
	if err != nil {
		return failed(err)
	}
	resp.OK = true
	return resp
}
