package mailauth

import "io"

// relaxedBody is a writer that canonicalizes a message body with the
// "relaxed" algorithm of RFC 6376 section 3.4.4 on its way to w: runs of
// spaces and tabs become one space, whitespace at the end of lines and
// empty lines at the end of the body go, and a non-empty body ends in one
// CRLF. With simple set it applies the "simple" algorithm (section 3.4.3)
// instead: only the empty lines at the end go, and even an empty body is
// one CRLF. LF alone ends a line as CRLF does. It holds a few bytes of
// state, never the body. Close writes the final CRLF.
type relaxedBody struct {
	w       io.Writer
	simple  bool
	cr      bool // a CR was seen and the next byte decides what it is
	wsp     bool // whitespace was seen since the last visible byte
	breaks  int  // line breaks not yet written
	content bool // something other than empty lines was written
	out     []byte
}

func (c *relaxedBody) Write(p []byte) (int, error) {
	c.out = c.out[:0]
	for _, b := range p {
		if c.cr {
			c.cr = false
			if b == '\n' {
				c.lineBreak()
				continue
			}
			c.visible('\r')
		}
		switch b {
		case '\r':
			c.cr = true
		case '\n':
			c.lineBreak()
		case ' ', '\t':
			if c.simple {
				c.visible(b)
			} else {
				c.wsp = true
			}
		default:
			c.visible(b)
		}
	}
	if _, err := c.w.Write(c.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *relaxedBody) lineBreak() {
	c.wsp = false // whitespace at the end of a line is dropped
	c.breaks++
}

func (c *relaxedBody) visible(b byte) {
	for ; c.breaks > 0; c.breaks-- {
		c.out = append(c.out, '\r', '\n')
	}
	if c.wsp {
		c.out = append(c.out, ' ')
		c.wsp = false
	}
	c.out = append(c.out, b)
	c.content = true
}

// Close ends the body: a lone CR at the very end is content, and a
// non-empty body (any body, if simple) gets its final CRLF.
func (c *relaxedBody) Close() error {
	c.out = c.out[:0]
	if c.cr {
		c.cr = false
		c.visible('\r')
	}
	if c.content || c.simple {
		c.out = append(c.out, '\r', '\n')
	}
	_, err := c.w.Write(c.out)
	return err
}
