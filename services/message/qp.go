package message

import "io"

// qpState is where a qpDecoder is within an escape or a line end.
type qpState int

const (
	qpText    qpState = iota
	qpCR              // after a CR in text
	qpEq              // after "="
	qpEqHex           // after "=" and one hex digit
	qpEqSpace         // after "=" and white space: a soft line break?
	qpEqCR            // after "=" (and white space) and CR
)

// maxQPSpace is how much white space a qpDecoder holds back to find out
// whether it trails a line (and is dropped) or not.
const maxQPSpace = 1024

// qpDecoder decodes RFC 2045 §6.7 quoted-printable, leniently like Go's
// mime/quotedprintable: it drops white space at the end of lines, keeps
// line breaks as they are (CRLF or LF), takes "=\n" as a soft line break
// too and an "=" not followed by two hex digits literally.
type qpDecoder struct {
	w     io.Writer
	state qpState
	hex   byte   // the first hex digit, in qpEqHex
	space []byte // white space held back
	out   []byte
}

func (d *qpDecoder) Write(p []byte) (int, error) {
	d.out = d.out[:0]
	for _, c := range p {
		d.step(c)
	}
	return len(p), writeAll(d.w, d.out)
}

// step consumes one byte.
func (d *qpDecoder) step(c byte) {
	switch d.state {
	case qpText:
		d.text(c)
	case qpCR:
		d.state = qpText
		if c == '\n' {
			d.space = d.space[:0]
			d.out = append(d.out, '\r', '\n')
			return
		}
		d.emitSpace()
		d.out = append(d.out, '\r')
		d.text(c)
	case qpEq:
		d.afterEq(c)
	case qpEqHex:
		d.state = qpText
		if isHex(c) {
			d.out = append(d.out, unhex(d.hex)<<4|unhex(c))
			return
		}
		d.out = append(d.out, '=', d.hex)
		d.text(c)
	case qpEqSpace:
		d.afterEq(c)
	case qpEqCR:
		// "=" CR: a soft line break, even without the LF.
		d.state = qpText
		if c != '\n' {
			d.text(c)
		}
	}
}

// text consumes a byte outside escapes.
func (d *qpDecoder) text(c byte) {
	switch c {
	case ' ', '\t':
		if len(d.space) == maxQPSpace {
			d.emitSpace()
		}
		d.space = append(d.space, c)
	case '\r':
		d.state = qpCR
	case '\n':
		d.space = d.space[:0]
		d.out = append(d.out, '\n')
	case '=':
		d.emitSpace()
		d.state = qpEq
	default:
		d.emitSpace()
		d.out = append(d.out, c)
	}
}

// afterEq consumes a byte after "=" and maybe white space.
func (d *qpDecoder) afterEq(c byte) {
	switch {
	case c == '\r':
		d.space = d.space[:0]
		d.state = qpEqCR
	case c == '\n':
		d.space = d.space[:0]
		d.state = qpText
	case (c == ' ' || c == '\t') && len(d.space) < maxQPSpace:
		d.space = append(d.space, c)
		d.state = qpEqSpace
	case isHex(c) && d.state == qpEq:
		d.hex, d.state = c, qpEqHex
	default:
		d.out = append(d.out, '=')
		d.emitSpace()
		d.state = qpText
		d.text(c)
	}
}

func (d *qpDecoder) emitSpace() {
	d.out = append(d.out, d.space...)
	d.space = d.space[:0]
}

// Close ends the input: like a line end, it drops trailing white space
// (and CR) and a final "=".
func (d *qpDecoder) Close() error {
	d.out = d.out[:0]
	if d.state == qpEqHex {
		d.out = append(d.out, '=', d.hex)
	}
	d.state = qpText
	d.space = d.space[:0]
	return writeAll(d.w, d.out)
}
