package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"time"
)

type state int

const (
	stateAuthorization state = iota
	stateTransaction
)

// Response codes (RFC 2449 section 8, RFC 3206).
const (
	codeAuth    = "AUTH"
	codeInUse   = "IN-USE"
	codeSysTemp = "SYS/TEMP"
)

// Generic texts of replies that hide a server-side problem.
const (
	textTemp    = "Temporary server error, try again later"
	textNeedTLS = "TLS required for authentication"
)

const (
	readBufSize  = 4096 // also the longest SASL response line
	writeBufSize = 4096
)

var (
	// errCloseConn ends a session after its reply.
	errCloseConn = errors.New("close connection")
	// errDraining ends a session when the server shuts down.
	errDraining = errors.New("server shutting down")
)

// session is one client connection. Its methods run on its own goroutine.
type session struct {
	srv  *Server
	raw  net.Conn // as accepted: the server closes it and sets its deadlines
	conn net.Conn // raw, or TLS over raw
	r    *bufio.Reader
	w    *bufio.Writer
	log  *slog.Logger
	ctx  context.Context // for backend calls; cancelled by Server.Close

	tls      bool
	state    state
	user     string // from USER, until PASS
	failures int    // failed logins

	// Set in the TRANSACTION state.
	drop    Maildrop
	msgs    []Message
	deleted []bool // by message index
}

func newSession(s *Server, raw net.Conn) *session {
	c := &session{
		srv: s,
		raw: raw,
		log: s.log.With(slog.String("remote", raw.RemoteAddr().String())),
		ctx: s.ctx,
	}
	c.setConn(raw)
	return c
}

// setConn makes the session talk over conn. Fresh buffers also drop any
// plaintext a client pipelined after STLS (RFC 2595 section 4 wants it
// ignored: it could have been injected by a man in the middle).
func (c *session) setConn(conn net.Conn) {
	c.conn = conn
	c.r = bufio.NewReaderSize(conn, readBufSize)
	c.w = bufio.NewWriterSize(deadlineWriter{conn, c.srv.opts.IdleTimeout}, writeBufSize)
}

// deadlineWriter bounds each write to a client, so that one that stops
// reading cannot hold a session forever.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.conn.Write(p)
}

// serve runs the session until QUIT, an error, or the server's end.
func (c *session) serve(implicitTLS bool) {
	ctx, cancel := context.WithCancel(c.srv.ctx)
	defer cancel()
	c.ctx = ctx
	defer c.close()
	if implicitTLS {
		if err := c.startTLS(); err != nil {
			c.log.Debug("tls handshake", slog.Any("err", err))
			return
		}
	}
	c.ok(c.srv.greeting)
	for {
		line, err := c.readLine()
		if errors.Is(err, ErrLineTooLong) {
			c.fail("", "Line too long")
			continue
		}
		if err != nil {
			c.readFailed(err)
			return
		}
		cmd, err := ParseCommand(line)
		if err != nil {
			c.fail("", capitalize(err.Error()))
			continue
		}
		if err := c.run(cmd); err != nil {
			if !errors.Is(err, errCloseConn) {
				c.log.Debug("session ends", slog.Any("err", err))
			}
			return
		}
	}
}

// run runs one command. A panic ends the session: recovering here, and only
// here, keeps one bad command or backend from taking the server down.
func (c *session) run(cmd Command) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in command", slog.String("cmd", cmd.Name),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			c.fail(codeSysTemp, textTemp)
			err = errCloseConn
		}
	}()
	return c.dispatch(cmd)
}

func (c *session) dispatch(cmd Command) error {
	switch cmd.Name {
	case "CAPA":
		return c.cmdCAPA(cmd)
	case "QUIT":
		return c.cmdQUIT(cmd)
	}
	if c.state == stateAuthorization {
		switch cmd.Name {
		case "USER":
			return c.cmdUSER(cmd)
		case "PASS":
			return c.cmdPASS(cmd)
		case "AUTH":
			return c.cmdAUTH(cmd)
		case "STLS":
			return c.cmdSTLS(cmd)
		}
	} else {
		switch cmd.Name {
		case "STAT":
			return c.cmdSTAT(cmd)
		case "LIST", "UIDL":
			return c.cmdLIST(cmd)
		case "RETR":
			return c.cmdRETR(cmd)
		case "TOP":
			return c.cmdTOP(cmd)
		case "DELE":
			return c.cmdDELE(cmd)
		case "RSET":
			return c.cmdRSET(cmd)
		case "NOOP":
			return c.cmdNOOP(cmd)
		}
	}
	switch cmd.Name {
	case "USER", "PASS", "AUTH", "STLS", "STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "RSET", "NOOP":
		return c.fail("", "Command not valid in this state")
	}
	return c.fail("", "Unknown command")
}

// readLine reads one line, with its line ending. First it sends the replies
// to the commands read so far, unless another whole command is already
// buffered: a pipelining client (RFC 2449 section 6.6) gets its replies in
// one write. A line longer than the read buffer is discarded, and readLine
// returns ErrLineTooLong.
func (c *session) readLine() ([]byte, error) {
	if buf, _ := c.r.Peek(c.r.Buffered()); bytes.IndexByte(buf, '\n') < 0 {
		if err := c.w.Flush(); err != nil {
			return nil, err
		}
	}
	if !c.srv.waitCommand(c) {
		return nil, errDraining
	}
	defer c.srv.busy(c)
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = c.r.ReadSlice('\n')
		}
		if err == nil {
			err = ErrLineTooLong
		}
		return nil, err
	}
	return line, err
}

// readFailed says goodbye when reading a command failed.
func (c *session) readFailed(err error) {
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch {
	case errors.Is(err, errDraining), timeout && c.srv.isDraining():
		c.fail(codeSysTemp, "Server shutting down")
	case timeout:
		c.log.Debug("idle timeout")
		c.fail("", "Autologout; idle for too long")
	case errors.Is(err, io.EOF):
		c.log.Debug("client hung up")
	default:
		c.log.Debug("read", slog.Any("err", err))
	}
}

// close ends the session without entering the UPDATE state.
func (c *session) close() {
	c.w.Flush()
	if c.drop != nil {
		c.closeMaildrop()
	}
	c.conn.Close()
}

// closeMaildrop closes the maildrop; the recover covers this last backend
// call, made outside of any command.
func (c *session) closeMaildrop() {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in Maildrop.Close", slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
		}
	}()
	md := c.drop
	c.drop = nil // closed once, even if Close panics
	if err := md.Close(); err != nil {
		c.log.Error("close maildrop", slog.Any("err", err))
	}
}

// startTLS runs the server side of a TLS handshake, then talks over TLS.
func (c *session) startTLS() error {
	tc := tls.Server(c.conn, c.srv.opts.TLSConfig)
	c.raw.SetDeadline(time.Now().Add(min(tlsHandshakeTimeout, c.srv.opts.IdleTimeout)))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		return err
	}
	c.raw.SetDeadline(time.Time{})
	c.setConn(tc)
	c.tls = true
	return nil
}

// ok sends "+OK text".
func (c *session) ok(text string) error {
	return c.reply("+OK", "", text)
}

// fail sends "-ERR [code] text"; code may be empty.
func (c *session) fail(code, text string) error {
	return c.reply("-ERR", code, text)
}

// syntax refuses a command with the wrong arguments, showing its usage.
func (c *session) syntax(usage string) error {
	return c.fail("", "Syntax: "+usage)
}

// reply writes one status line. Its texts come from this package only, so
// that the line holds no CR or LF and stays under 512 octets (RFC 2449).
func (c *session) reply(status, code, text string) error {
	c.w.WriteString(status)
	if code != "" {
		c.w.WriteString(" [" + code + "]")
	}
	if text != "" {
		c.w.WriteString(" " + text)
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

// writeLine writes one line of a multi-line response; s must not start with
// "." nor contain CR or LF.
func (c *session) writeLine(s string) error {
	_, err := c.w.WriteString(s + "\r\n")
	return err
}

// endMulti terminates a multi-line response.
func (c *session) endMulti() error {
	_, err := c.w.WriteString(".\r\n")
	return err
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
