package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
)

const messageBufSize = 4096 // read buffer per RETR/TOP; bounds memory whatever the line lengths

// errWriteClient marks errors writing to the client: they are not the
// backend's fault.
var errWriteClient = errors.New("write to client")

func (c *session) cmdRETR(cmd Command) error {
	if len(cmd.Args) != 1 {
		return c.syntax("RETR msg")
	}
	i, bad := c.message(cmd.Args[0])
	if bad != "" {
		return c.fail("", bad)
	}
	return c.sendMessage(i, -1)
}

// cmdTOP sends the header and the first n lines of the body (RFC 1939
// section 7).
func (c *session) cmdTOP(cmd Command) error {
	if len(cmd.Args) != 2 {
		return c.syntax("TOP msg n")
	}
	i, bad := c.message(cmd.Args[0])
	if bad != "" {
		return c.fail("", bad)
	}
	if !isDigits(cmd.Args[1]) {
		return c.fail("", "Invalid number of lines")
	}
	n, err := strconv.Atoi(cmd.Args[1])
	if err != nil {
		n = math.MaxInt // out of range: the whole body
	}
	return c.sendMessage(i, n)
}

// sendMessage sends message i as a multi-line response: all of it when
// bodyLines < 0, else its header and bodyLines lines of body.
func (c *session) sendMessage(i, bodyLines int) error {
	m := c.msgs[i]
	rc, err := c.drop.Open(c.ctx, m)
	if errors.Is(err, ErrExpunged) {
		c.log.Info("open message", slog.Int("msg", i+1), slog.Any("err", err))
		return c.fail("", "Message was removed by another session")
	}
	if err != nil {
		c.log.Error("open message", slog.Int("msg", i+1), slog.String("uid", m.UID), slog.Any("err", err))
		return c.fail(codeSysTemp, textTemp)
	}
	defer rc.Close()
	head := "Message follows"
	if bodyLines < 0 {
		head = fmt.Sprintf("%d octets", m.Size)
	}
	if err := c.ok(head); err != nil {
		return err
	}
	if err := copyMessage(c.w, rc, bodyLines, messageBufSize); err != nil {
		// The client has part of the message and no way to tell: hang up
		// without the final "." so that it does not take it for the whole.
		level := slog.LevelError
		if errors.Is(err, errWriteClient) {
			level = slog.LevelDebug
		}
		c.log.Log(c.ctx, level, "send message", slog.Int("msg", i+1), slog.String("uid", m.UID), slog.Any("err", err))
		return errCloseConn
	}
	return c.endMulti()
}

// copyMessage writes the message read from r to w as the body of a POP3
// multi-line response (RFC 1939 section 3), without the final ".": every
// line ends in CRLF (bare LF is converted, a missing last line ending is
// added) and a line starting with "." gets another one. A CR not followed
// by LF is passed as is. With bodyLines >= 0 it stops after the header and
// that many body lines (TOP). It reads through a buffer of bufSize bytes:
// long lines go through in pieces.
func copyMessage(w *bufio.Writer, r io.Reader, bodyLines, bufSize int) error {
	br := bufio.NewReaderSize(r, bufSize)
	lw := lineWriter{w: w, start: true, header: true, top: bodyLines >= 0, left: bodyLines}
	for {
		frag, err := br.ReadSlice('\n')
		done := len(frag) > 0 && lw.write(frag)
		if errors.Is(err, io.EOF) {
			lw.finish()
			done = true
		}
		switch {
		case lw.err != nil:
			return fmt.Errorf("%w: %w", errWriteClient, lw.err)
		case done:
			return nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return fmt.Errorf("read message: %w", err)
		}
	}
}

// lineWriter dot-stuffs and normalizes line endings for copyMessage.
type lineWriter struct {
	w         *bufio.Writer
	err       error // first write error
	start     bool  // nothing of the current line written yet
	pendingCR bool  // the last fragment ended in CR, not written yet
	header    bool  // still in the header
	top       bool  // stop after left body lines
	left      int
}

// write takes one fragment from ReadSlice: the rest of a line, ending in
// LF, or a piece of a longer line. It reports whether TOP is done.
func (lw *lineWriter) write(frag []byte) bool {
	eol := frag[len(frag)-1] == '\n'
	if eol {
		frag = frag[:len(frag)-1]
	}
	if lw.pendingCR {
		lw.pendingCR = false
		if !eol || len(frag) > 0 { // else it is the CR of a CRLF
			lw.put([]byte{'\r'})
		}
	}
	if eol {
		lw.put(bytes.TrimSuffix(frag, []byte{'\r'}))
		return lw.endLine()
	}
	if frag[len(frag)-1] == '\r' { // might be followed by LF
		lw.pendingCR = true
		frag = frag[:len(frag)-1]
	}
	lw.put(frag)
	return false
}

// put writes part of a line, stuffing a "." at its start.
func (lw *lineWriter) put(p []byte) {
	if len(p) == 0 || lw.err != nil {
		return
	}
	if lw.start {
		lw.start = false
		if p[0] == '.' {
			lw.err = lw.w.WriteByte('.')
		}
	}
	if lw.err == nil {
		_, lw.err = lw.w.Write(p)
	}
}

// endLine ends the current line and reports whether TOP is done.
func (lw *lineWriter) endLine() bool {
	empty := lw.start
	if lw.err == nil {
		_, lw.err = lw.w.WriteString("\r\n")
	}
	lw.start = true
	switch {
	case !lw.top:
		return false
	case lw.header:
		lw.header = !empty // the empty line ends the header
		return !lw.header && lw.left == 0
	default:
		lw.left--
		return lw.left <= 0
	}
}

// finish terminates the last line if the message did not.
func (lw *lineWriter) finish() {
	if lw.pendingCR || !lw.start {
		lw.pendingCR = false
		lw.endLine()
	}
}
