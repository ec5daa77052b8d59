package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// headerBuilder collects the fields of one header block that end within
// MaxHeaderBytes of its start.
type headerBuilder struct {
	start  int64
	fields [][]byte // raw, in message order
	cur    []byte   // the field being read, nil if none
	full   bool     // the cap was reached: keep nothing more
}

// add appends a fragment of the current field, which ends at offset end.
func (b *headerBuilder) add(data []byte, end int64) {
	if b.full || b.cur == nil {
		return
	}
	if end-b.start > MaxHeaderBytes {
		b.full, b.cur = true, nil
		return
	}
	b.cur = append(b.cur, data...)
}

func (b *headerBuilder) flush() {
	if b.cur != nil {
		b.fields = append(b.fields, b.cur)
		b.cur = nil
	}
}

// header returns the fields as a textproto.Header, which keeps fields in
// reverse order.
func (b *headerBuilder) header() textproto.Header {
	b.flush()
	var h textproto.Header
	for i := len(b.fields) - 1; i >= 0; i-- {
		h.AddRaw(b.fields[i])
	}
	return h
}

// readHeader reads a header block from lr: field lines up to a blank line,
// which it consumes. A line that is neither a field nor a continuation, or
// for which isBoundary is true, ends the header and is pushed back: it
// belongs to the body. With atCap, reading stops once MaxHeaderBytes were
// read, as nothing more would be kept.
func readHeader(lr *lineReader, isBoundary func([]byte) bool, atCap bool) (textproto.Header, error) {
	start, _ := lr.pos()
	b := headerBuilder{start: start}
	for {
		f, err := lr.next()
		if errors.Is(err, io.EOF) {
			return b.header(), nil
		} else if err != nil {
			return b.header(), err
		}
		if atCap && f.start-start >= MaxHeaderBytes {
			// Parse kept the current field only if it ended here.
			if !f.lineStart || f.data[0] == ' ' || f.data[0] == '\t' {
				b.cur = nil
			}
			return b.header(), nil
		}
		if f.lineStart {
			line := f.wholeLine()
			if bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")) {
				return b.header(), nil
			}
			if (line != nil && isBoundary != nil && isBoundary(line)) || !b.startLine(f.data) {
				lr.unread()
				return b.header(), nil
			}
		}
		b.add(f.data, f.start+int64(len(f.data)))
	}
}

// startLine reports whether line continues the current field or starts a
// new one, and starts it.
func (b *headerBuilder) startLine(line []byte) bool {
	if line[0] == ' ' || line[0] == '\t' {
		return b.cur != nil || b.full
	}
	if !isFieldStart(line) {
		return false
	}
	b.flush()
	if !b.full {
		b.cur = []byte{}
	}
	return true
}

// isFieldStart reports whether line starts with a field name and a colon
// (RFC 5322 §2.2, allowing white space before the colon).
func isFieldStart(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// readHeaderAt reads the header block of p from ra.
func readHeaderAt(ra io.ReaderAt, p *Part) (textproto.Header, error) {
	sr := io.NewSectionReader(ra, p.HeaderStart, p.BodyStart-p.HeaderStart)
	h, err := readHeader(newLineReader(sr, sr.Size()+1), nil, true)
	if err != nil {
		return h, fmt.Errorf("read header at %d: %w", p.HeaderStart, err)
	}
	return h, nil
}

// Header returns the fields of the message's top-level header, up to
// MaxHeaderBytes, for SEARCH HEADER, FROM, TO, SUBJECT and the like.
func Header(ra io.ReaderAt, i *Info) (mail.Header, error) {
	h, err := readHeaderAt(ra, i.Root)
	return mail.Header{Header: gomessage.Header{Header: h}}, err
}
