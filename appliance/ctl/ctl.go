// Package ctl is the control socket through which the admin CLI and other
// local tools talk to a running core. The protocol is one JSON request and
// one JSON response per connection on a unix socket (DATA/ctl.sock, mode
// 0600), so only root and the core's own user can use it.
package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Request is what a client sends.
type Request struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Response is what the server answers. Error is meant for the admin: it
// says what went wrong in plain words.
type Response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Handler serves one method. It returns a JSON-encodable result.
type Handler func(ctx context.Context, params json.RawMessage) (any, error)

// Server answers requests on a unix socket.
type Server struct {
	Methods map[string]Handler
	Logger  *slog.Logger

	// mu guards l and conns.
	mu    sync.Mutex
	l     net.Listener
	conns sync.WaitGroup
}

// Listen creates the socket at path, replacing a stale one.
func Listen(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another core is running", path)
	}
	os.Remove(path)
	old := syscall.Umask(0o077)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return l, nil
}

// Serve answers requests until l is closed.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.l = l
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			s.handle(c)
		}()
	}
}

// Close stops the server and waits for requests in progress.
func (s *Server) Close() error {
	s.mu.Lock()
	l := s.l
	s.mu.Unlock()
	var err error
	if l != nil {
		err = l.Close()
	}
	s.conns.Wait()
	return err
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Minute))
	var req Request
	if err := json.NewDecoder(io.LimitReader(c, 1<<20)).Decode(&req); err != nil {
		writeResponse(c, Response{Error: "bad request"})
		return
	}
	writeResponse(c, s.call(req))
}

func (s *Server) call(req Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			s.log().Error("control request panicked", "method", req.Method, "panic", v)
			resp = Response{Error: "internal error (see the log)"}
		}
	}()
	h, ok := s.Methods[req.Method]
	if !ok {
		return Response{Error: fmt.Sprintf("unknown command %q", req.Method)}
	}
	res, err := h(context.Background(), req.Params)
	if err != nil {
		s.log().Info("control request failed", "method", req.Method, "err", err)
		return Response{Error: err.Error()}
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return Response{Error: "internal error: " + err.Error()}
	}
	return Response{Result: raw}
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func writeResponse(w io.Writer, r Response) {
	bw := bufio.NewWriter(w)
	json.NewEncoder(bw).Encode(r)
	bw.Flush()
}

// ErrNotRunning means nothing listens on the socket.
var ErrNotRunning = errors.New("the facteur core is not running")

// Call sends one request to the socket at path and decodes the result
// into out (which may be nil).
func Call(path, method string, params, out any) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("%w (no control socket at %s; start it with 'facteur serve' or 'facteur dev')", ErrNotRunning, path)
	}
	defer c.Close()
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(c).Encode(Request{Method: method, Params: raw}); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	if out != nil && resp.Result != nil {
		return json.Unmarshal(resp.Result, out)
	}
	return nil
}
