package message

import (
	"bufio"
	"errors"
	"io"
)

// lineBufSize is the longest line fragment the parser sees at once. Longer
// lines arrive in several fragments; they can be neither boundaries nor
// header field starts.
const lineBufSize = 32 << 10

// frag is a piece of a line: a whole line if it fits in the buffer.
type frag struct {
	data  []byte // valid until the next call to next
	start int64  // offset of data[0]
	nl    int64  // number of LF before start
	// prevTerm is the offset of the line terminator (CRLF or LF) of the
	// line before the one this fragment belongs to, -1 if none.
	prevTerm  int64
	lineStart bool // data[0] starts a line
	complete  bool // data ends the line: with LF, or at EOF
}

// term returns the length of the line terminator at the end of f.
func (f *frag) term() int {
	n := len(f.data)
	switch {
	case n > 0 && f.data[n-1] == '\n' && n > 1 && f.data[n-2] == '\r':
		return 2
	case n > 0 && f.data[n-1] == '\n':
		return 1
	}
	return 0
}

// wholeLine returns the line if f holds all of it, else nil.
func (f *frag) wholeLine() []byte {
	if f.lineStart && f.complete {
		return f.data
	}
	return nil
}

// lineReader splits a stream into line fragments and tracks offsets and
// line counts. A fragment never ends between the CR and LF of a CRLF.
type lineReader struct {
	br       *bufio.Reader
	off      int64 // offset of the next unread byte
	nl       int64 // LF before off
	prevTerm int64 // offset of the last complete line's terminator
	midLine  bool
	err      error // sticky read error
	f        frag
	back     bool // f was pushed back and is returned again by next
}

// newLineReader returns a lineReader of r with a buffer of size bytes, at
// most lineBufSize: a short input needs no more.
func newLineReader(r io.Reader, size int64) *lineReader {
	size = min(max(size, 16), lineBufSize)
	return &lineReader{br: bufio.NewReaderSize(r, int(size)), prevTerm: -1}
}

// pos returns the offset of the next fragment and the LF count before it.
func (lr *lineReader) pos() (off, nl int64) {
	if lr.back {
		return lr.f.start, lr.f.nl
	}
	return lr.off, lr.nl
}

// unread pushes back the fragment last returned by next.
func (lr *lineReader) unread() { lr.back = true }

// next returns the next fragment, or io.EOF, or a read error.
func (lr *lineReader) next() (*frag, error) {
	if lr.back {
		lr.back = false
		return &lr.f, nil
	}
	if lr.err != nil {
		return nil, lr.err
	}
	data, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		err = nil
		if n := len(data); n > 1 && data[n-1] == '\r' {
			_ = lr.br.UnreadByte() // keep CRLF together
			data = data[:n-1]
		}
	}
	if err != nil {
		lr.err = err
		if err != io.EOF || len(data) == 0 {
			return nil, err
		}
	}
	lr.f = frag{data: data, start: lr.off, nl: lr.nl, prevTerm: lr.prevTerm, lineStart: !lr.midLine}
	lr.off += int64(len(data))
	if data[len(data)-1] == '\n' {
		lr.f.complete = true
		lr.nl++
		lr.midLine = false
		lr.prevTerm = lr.off - int64(lr.f.term())
	} else {
		lr.f.complete = err == io.EOF
		lr.midLine = true
	}
	return &lr.f, nil
}
