package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
)

// Parse reads a message from r in one pass and returns its structure. Its
// memory use is bounded whatever the size of the message. Malformed MIME
// is not an error; only errors reading r are returned.
func Parse(r io.Reader) (*Info, error) {
	p := &parser{lr: newLineReader(r, lineBufSize)}
	var env *imap.Envelope
	root, _, err := p.entity(0, false, &env)
	if err != nil {
		return nil, fmt.Errorf("parse message: %w", err)
	}
	return &Info{Size: p.lr.off, Envelope: env, Root: root}, nil
}

// parser is the state of one Parse.
type parser struct {
	lr *lineReader
	// bounds are the boundaries of the enclosing multiparts, outermost
	// first.
	bounds [][]byte
	// preamble is set while reading the preamble of the innermost
	// multipart, where its close delimiter does not count: a multipart
	// without an open delimiter is one text part.
	preamble bool
	parts    int // parts so far
}

// hit is how a body ended: at a boundary line or at EOF.
type hit struct {
	bound int   // index in bounds, -1 at EOF
	close bool  // a close delimiter, "--boundary--"
	end   int64 // end of the bodies it ends: before the CRLF preceding the boundary
	nl    int64 // LF before end
}

// entity parses a message or body part (header and body) that starts at
// the current offset. If env is not nil, the header is a message header and
// its envelope is stored there.
func (p *parser) entity(depth int, inDigest bool, env **imap.Envelope) (*Part, hit, error) {
	p.parts++
	pt := &Part{}
	pt.HeaderStart, _ = p.lr.pos()
	h, err := readHeader(p.lr, p.isBoundary, false)
	if err != nil {
		return nil, hit{}, err
	}
	var nlBody int64
	pt.BodyStart, nlBody = p.lr.pos()
	setMIME(pt, h, inDigest)
	if env != nil {
		*env = envelope(h)
	}
	end, err := p.body(pt, depth)
	if err != nil {
		return nil, hit{}, err
	}
	pt.End = end.end
	nlEnd := end.nl
	if pt.End < pt.BodyStart {
		pt.End, nlEnd = pt.BodyStart, nlBody
	}
	if pt.Type == "text" || pt.Message != nil {
		pt.Lines = nlEnd - nlBody
	}
	// When the CRLF before a boundary is the blank line ending this part's
	// header, the body ends after it, not before: tell the enclosing parts.
	end.end, end.nl = pt.End, nlEnd
	return pt, end, nil
}

// body parses the body of pt according to its type.
func (p *parser) body(pt *Part, depth int) (hit, error) {
	opaque := depth >= MaxDepth || p.parts >= MaxParts
	message := pt.Type == "message" && (pt.Subtype == "rfc822" || pt.Subtype == "global")
	switch {
	case pt.Type == "multipart" && pt.Params["boundary"] == "":
		// RFC 2046 §5.1.1 requires the boundary parameter.
		pt.Type, pt.Subtype, pt.Params = "text", "plain", nil
	case (pt.Type == "multipart" || message) && opaque:
		pt.Type, pt.Subtype = "application", "octet-stream"
	case pt.Type == "multipart":
		return p.multipart(pt, depth)
	case message:
		var env *imap.Envelope
		m, end, err := p.entity(depth+1, false, &env)
		pt.Message, pt.Envelope = m, env
		return end, err
	}
	return p.leaf(pt, pt.Encoding)
}

// leaf reads the body of a leaf part and computes its decoded size.
func (p *parser) leaf(pt *Part, enc string) (hit, error) {
	var n counter
	dec, ok := newDecoder(enc, &n)
	if !ok {
		dec = nopDecoder{&n}
	}
	end, err := p.scan(dec)
	dec.Close()
	pt.DecodedSize = n.n
	return end, err
}

// multipart reads the preamble, the parts and the epilogue of a multipart
// (RFC 2046 §5.1.1). Without any open delimiter it becomes text/plain.
func (p *parser) multipart(pt *Part, depth int) (hit, error) {
	p.bounds = append(p.bounds, []byte(pt.Params["boundary"]))
	me := len(p.bounds) - 1
	p.preamble = true
	end, err := p.leaf(pt, pt.Encoding)
	p.preamble = false
	if err == nil && end.bound != me {
		pt.Type, pt.Subtype, pt.Params = "text", "plain", nil
	}
	inDigest := pt.Subtype == "digest"
	for err == nil && end.bound == me && !end.close && p.parts < MaxParts {
		var child *Part
		child, end, err = p.entity(depth+1, inDigest, nil)
		if child != nil {
			pt.Children = append(pt.Children, child)
		}
	}
	p.bounds = p.bounds[:me]
	if err == nil && end.bound == me {
		// The epilogue, and the parts beyond MaxParts.
		end, err = p.scan(nil)
	}
	if len(pt.Children) > 0 {
		pt.DecodedSize = 0
	}
	return end, err
}

// scan reads body lines up to a boundary line or EOF and writes them to w,
// if not nil, except the line terminator before the boundary.
func (p *parser) scan(w io.Writer) (hit, error) {
	var held []byte // the last line terminator, not yet written
	var buf [2]byte
	for {
		f, err := p.lr.next()
		if errors.Is(err, io.EOF) {
			if w != nil {
				w.Write(held)
			}
			return hit{bound: -1, end: p.lr.off, nl: p.lr.nl}, nil
		} else if err != nil {
			return hit{}, err
		}
		if line := f.wholeLine(); line != nil {
			if i, closing, ok := p.boundary(line); ok {
				return hit{bound: i, close: closing, end: f.prevTerm, nl: f.nl - 1}, nil
			}
		}
		if w != nil {
			w.Write(held)
			t := len(f.data) - f.term()
			w.Write(f.data[:t])
			held = buf[:copy(buf[:], f.data[t:])]
		}
	}
}

// boundary reports whether line is a delimiter line of an enclosing
// multipart, which one, and whether it is a close delimiter. As RFC 2046
// §5.1.1 notes, the line need only begin with "--" and the boundary; if
// several boundaries match, the longest wins, then the innermost (as in
// Dovecot), so that an inner boundary that extends an outer one works.
func (p *parser) boundary(line []byte) (idx int, closing, ok bool) {
	if len(p.bounds) == 0 || !bytes.HasPrefix(line, []byte("--")) {
		return 0, false, false
	}
	best := -1
	for i := len(p.bounds) - 1; i >= 0; i-- {
		b := p.bounds[i]
		if bytes.HasPrefix(line[2:], b) && (best < 0 || len(b) > len(p.bounds[best])) {
			best = i
		}
	}
	if best < 0 {
		return 0, false, false
	}
	closing = bytes.HasPrefix(line[2+len(p.bounds[best]):], []byte("--"))
	if closing && p.preamble && best == len(p.bounds)-1 {
		return 0, false, false
	}
	return best, closing, true
}

func (p *parser) isBoundary(line []byte) bool {
	_, _, ok := p.boundary(line)
	return ok
}
