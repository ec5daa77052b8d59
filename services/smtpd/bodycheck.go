package smtpd

import (
	"bufio"
	"io"
)

// bodyChecker passes a message body through while refusing any LF that does
// not follow a CR and any CR that is not followed by LF. Such bytes are how
// SMTP smuggling (CVE-2023-51766 and its kin) hides a second message inside
// the first one: a server further along may read "\n.\n" as the end of data.
//
// A CR is only passed on once the LF after it has been seen, so everything a
// bodyChecker ever returns is clean, even when it fails part way.
//
// On the first bad byte the checker reads the rest of the body to its end and
// throws it away, so that DATA and every remaining BDAT chunk are consumed and
// the session stays in step with the client, and then returns errBareLFCR
// from every call. An error from the underlying reader is returned as it is.
type bodyChecker struct {
	r *bufio.Reader
	n int64 // bytes returned so far

	heldCR bool  // read a CR, not yet known to be followed by LF
	owedLF bool  // returned the CR of a CRLF, the LF is still to come
	err    error // sticky; io.EOF once the body ended cleanly
}

func newBodyChecker(r io.Reader) *bodyChecker {
	return &bodyChecker{r: bufio.NewReader(r)}
}

func (c *bodyChecker) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && c.err == nil {
		if c.owedLF {
			p[n] = '\n'
			n++
			c.owedLF = false
			continue
		}
		// Hand over what we have rather than wait for more input.
		if n > 0 && c.r.Buffered() == 0 {
			break
		}
		b, err := c.r.ReadByte()
		if err != nil {
			c.fail(err)
			break
		}
		switch {
		case c.heldCR && b == '\n':
			c.heldCR = false
			p[n] = '\r'
			n++
			c.owedLF = true
		case c.heldCR:
			c.reject()
		case b == '\r':
			c.heldCR = true
		case b == '\n':
			c.reject()
		default:
			p[n] = b
			n++
		}
	}
	c.n += int64(n)
	if n > 0 {
		return n, nil
	}
	return 0, c.err
}

// fail records an error from the underlying reader. A CR right before the
// end of the body is a lone CR.
func (c *bodyChecker) fail(err error) {
	if err == io.EOF && c.heldCR {
		c.err = errBareLFCR
		return
	}
	c.err = err
}

// reject consumes the rest of the body and makes the checker fail.
func (c *bodyChecker) reject() {
	c.heldCR = false
	// Errors while draining do not matter: the message is refused anyway,
	// and go-smtp reports a broken connection itself.
	_, _ = io.Copy(io.Discard, c.r)
	c.err = errBareLFCR
}

// Err returns the error that ended the body, or nil if it has not ended or
// ended cleanly.
func (c *bodyChecker) Err() error {
	if c.err == io.EOF {
		return nil
	}
	return c.err
}

// Done reports whether the body was read to its end, cleanly or not.
func (c *bodyChecker) Done() bool { return c.err != nil }

// Size returns the number of body bytes passed on.
func (c *bodyChecker) Size() int64 { return c.n }
