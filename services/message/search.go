package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MatchText reports whether needle occurs in the message, ignoring case
// (Unicode simple case folding), for IMAP SEARCH TEXT (bodyOnly false:
// the top-level header and the body) and SEARCH BODY (bodyOnly true).
//
// The body text is that of the text/* leaf parts, with their
// Content-Transfer-Encoding undone and converted to UTF-8 from their
// charset (text in an unknown charset is read as UTF-8), and the headers of
// embedded messages; other leaves are skipped.
// Header values are searched with their encoded words decoded. Matches do
// not span parts or header fields. Memory use is bounded.
func MatchText(ra io.ReaderAt, i *Info, needle string, bodyOnly bool) (bool, error) {
	m := newMatcher(needle)
	if len(m.needle) == 0 {
		return true, nil
	}
	s := &searcher{ra: ra, m: m}
	if !bodyOnly {
		if found, err := s.header(i.Root); found || err != nil {
			return found, err
		}
	}
	return s.part(i.Root)
}

// searchBufs recycles read buffers: SEARCH reads every message of a mailbox.
var searchBufs = sync.Pool{New: func() any { return make([]byte, 32<<10) }}

// errFound stops decoding once the needle is found.
var errFound = errors.New("found")

type searcher struct {
	ra  io.ReaderAt
	m   *matcher
	buf []byte
}

func (s *searcher) part(p *Part) (bool, error) {
	switch {
	case p.isMultipart():
		for _, c := range p.Children {
			if found, err := s.part(c); found || err != nil {
				return found, err
			}
		}
		return false, nil
	case p.isMessage():
		if found, err := s.header(p.Message); found || err != nil {
			return found, err
		}
		return s.part(p.Message)
	case p.Type == "text":
		return s.text(p)
	}
	return false, nil
}

// header searches the fields of p's header, decoded.
func (s *searcher) header(p *Part) (bool, error) {
	h, err := readHeaderAt(s.ra, p)
	if err != nil {
		return false, err
	}
	for f := h.Fields(); f.Next(); {
		w := &textWriter{m: s.m}
		s.m.reset()
		if _, err := io.WriteString(w, f.Key()+": "+decodeWords(f.Value())); err == errFound {
			return true, nil
		}
	}
	return false, nil
}

// text searches the decoded body of a text part, converted to UTF-8.
func (s *searcher) text(p *Part) (bool, error) {
	s.m.reset()
	enc := p.Encoding
	if _, ok := newDecoder(enc, nil); !ok {
		enc = "" // search the text as it is
	}
	src := &ioErrReader{r: io.NewSectionReader(s.ra, p.BodyStart, p.End-p.BodyStart)}
	dec, _ := newDecodeReader(enc, src)
	r, _ := lenientCharsetReader(p.Params["charset"], dec)
	if s.buf == nil {
		s.buf = searchBufs.Get().([]byte)
		defer func() { searchBufs.Put(s.buf); s.buf = nil }()
	}
	w := &textWriter{m: s.m}
	for {
		n, err := r.Read(s.buf)
		if _, werr := w.Write(s.buf[:n]); werr == errFound {
			return true, nil
		}
		if src.err != nil {
			return false, fmt.Errorf("search part at %d: %w", p.BodyStart, src.err)
		}
		if err != nil {
			return false, nil // the end, or text the charset cannot decode
		}
	}
}

// ioErrReader remembers the error, other than EOF, that r returned.
type ioErrReader struct {
	r   io.Reader
	err error
}

func (e *ioErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// textWriter feeds the runes of UTF-8 text to a matcher, and fails with
// errFound once it matches. A UTF-8 sequence may span writes.
type textWriter struct {
	m       *matcher
	carry   []byte // an incomplete UTF-8 sequence
	scratch []byte
}

func (w *textWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(w.carry) > 0 {
		w.scratch = append(append(w.scratch[:0], w.carry...), p...)
		p = w.scratch
	}
	tail := utf8Tail(p)
	w.carry = append(w.carry[:0], p[len(p)-tail:]...)
	for p = p[:len(p)-tail]; len(p) > 0; {
		if w.m.state == 0 && w.m.first != "" {
			// Nothing matched yet: jump to the next byte that can start
			// the needle instead of feeding every rune.
			i := bytes.IndexAny(p, w.m.first)
			if i < 0 {
				break
			}
			p = p[i:]
		}
		r, size := rune(p[0]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(p)
		}
		p = p[size:]
		if w.m.feed(r) {
			return n, errFound
		}
	}
	return n, nil
}

// matcher finds a needle in a stream of runes, ignoring case, with the
// Knuth-Morris-Pratt algorithm: it keeps no text, only a state.
type matcher struct {
	needle []rune // folded
	fail   []int  // fail[i]: length of the longest proper border of needle[:i+1]
	state  int    // runes of needle matched
	// first lists the bytes a match can start with, when the needle
	// starts with an ASCII character that no other rune folds to; else "".
	first string
}

func newMatcher(needle string) *matcher {
	m := &matcher{}
	for _, r := range needle {
		m.needle = append(m.needle, fold(r))
	}
	if len(m.needle) > 0 && m.needle[0] < utf8.RuneSelf && m.needle[0] != 'K' && m.needle[0] != 'S' {
		c := m.needle[0]
		// (U+212A KELVIN SIGN folds to K and U+017F LONG S to S.)
		m.first = string([]rune{c, unicode.ToLower(c)})
	}
	m.fail = make([]int, len(m.needle))
	for i, k := 1, 0; i < len(m.needle); i++ {
		for k > 0 && m.needle[i] != m.needle[k] {
			k = m.fail[k-1]
		}
		if m.needle[i] == m.needle[k] {
			k++
		}
		m.fail[i] = k
	}
	return m
}

func (m *matcher) reset() { m.state = 0 }

// feed consumes one rune and reports whether the needle ends there.
func (m *matcher) feed(r rune) bool {
	r = fold(r)
	for m.state > 0 && m.needle[m.state] != r {
		m.state = m.fail[m.state-1]
	}
	if m.needle[m.state] == r {
		m.state++
	}
	if m.state == len(m.needle) {
		m.state = m.fail[m.state-1]
		return true
	}
	return false
}

// fold maps r to the smallest rune of its simple case folding orbit, so
// that runes equal under strings.EqualFold fold to the same rune.
func fold(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
