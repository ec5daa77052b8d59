package message

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Section returns the content of BODY[section]<partial> (RFC 3501 §6.4.5,
// RFC 9051 §6.4.5) and its exact length. The content is read from ra
// lazily, except for HEADER.FIELDS[.NOT], which reads the header (at most
// MaxHeaderBytes of it) at once. A section naming no part is empty.
func Section(ra io.ReaderAt, i *Info, s *imap.FetchItemBodySection) (io.Reader, int64, error) {
	part := resolve(i.Root, s.Part)
	if part == nil {
		return empty()
	}
	if len(s.HeaderFields) > 0 || len(s.HeaderFieldsNot) > 0 {
		return headerFields(ra, part, s)
	}
	start, end := sectionRange(i, part, s)
	start, end = applyPartial(start, end, s.Partial)
	return exactReader(io.NewSectionReader(ra, start, end-start), end-start), end - start, nil
}

// sectionRange returns the byte range of a section of part other than
// HEADER.FIELDS[.NOT].
func sectionRange(i *Info, part *Part, s *imap.FetchItemBodySection) (start, end int64) {
	if len(s.Part) == 0 {
		switch s.Specifier {
		case imap.PartSpecifierHeader, imap.PartSpecifierMIME: // MIME: as go-imap
			return part.HeaderStart, part.BodyStart
		case imap.PartSpecifierText:
			return part.BodyStart, part.End
		}
		return 0, i.Size
	}
	switch s.Specifier {
	case imap.PartSpecifierMIME:
		return part.HeaderStart, part.BodyStart
	case imap.PartSpecifierHeader:
		m := embedded(part)
		return m.HeaderStart, m.BodyStart
	case imap.PartSpecifierText:
		m := embedded(part)
		return m.BodyStart, m.End
	}
	return part.BodyStart, part.End
}

// embedded returns the message that HEADER and TEXT of part refer to: the
// embedded message of a message/rfc822 part. Other parts refer to
// themselves, as in go-imap, for lack of anything better.
func embedded(part *Part) *Part {
	if part.isMessage() {
		return part.Message
	}
	return part
}

// applyPartial narrows [start, end) to <offset.size>, applied after
// extraction; an offset beyond the end gives nothing.
func applyPartial(start, end int64, partial *imap.SectionPartial) (int64, int64) {
	if partial == nil {
		return start, end
	}
	off := max(partial.Offset, 0)
	if off >= end-start {
		return end, end
	}
	start += off
	if size := max(partial.Size, 0); size < end-start {
		end = start + size
	}
	return start, end
}

// headerFields returns HEADER.FIELDS or HEADER.FIELDS.NOT: the matching
// fields, as they are in the message, then a blank line.
func headerFields(ra io.ReaderAt, part *Part, s *imap.FetchItemBodySection) (io.Reader, int64, error) {
	if len(s.Part) > 0 {
		part = embedded(part)
	}
	h, err := readHeaderAt(ra, part)
	if err != nil {
		return nil, 0, err
	}
	keep := len(s.HeaderFields) > 0
	names := s.HeaderFields
	if !keep {
		names = s.HeaderFieldsNot
	}
	var buf bytes.Buffer
	for f := h.Fields(); f.Next(); {
		if containsFold(names, f.Key()) != keep {
			continue
		}
		raw, _ := f.Raw() // from AddRaw: cannot fail
		buf.Write(raw)
	}
	buf.WriteString("\r\n")
	b := buf.Bytes()
	start, end := applyPartial(0, int64(len(b)), s.Partial)
	return bytes.NewReader(b[start:end]), end - start, nil
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func empty() (io.Reader, int64, error) { return bytes.NewReader(nil), 0, nil }

// exactReader returns a reader of r that fails with io.ErrUnexpectedEOF if
// r ends before n bytes: the stored message is shorter than its Info says.
func exactReader(r io.Reader, n int64) io.Reader {
	return &exact{r: r, left: n}
}

type exact struct {
	r    io.Reader
	left int64
}

func (e *exact) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	if e.left == 0 && err == nil {
		return n, io.EOF
	}
	return n, err
}
