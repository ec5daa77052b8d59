package message

import (
	"bytes"
	"io"
)

// A decoder undoes a Content-Transfer-Encoding on bytes written to it and
// writes the result on; Close flushes what it holds back. The same decoder
// computes DecodedSize at parse time and serves BINARY later, so both
// always agree, and its output does not depend on how the input is split.
type decoder interface {
	io.Writer
	Close() error
}

// newDecoder returns a decoder for the encoding enc (lower case) writing to
// w, or false if enc is unknown.
func newDecoder(enc string, w io.Writer) (decoder, bool) {
	switch {
	case isIdentity(enc):
		return nopDecoder{w}, true
	case enc == "base64":
		return &base64Decoder{w: w}, true
	case enc == "quoted-printable":
		return &qpDecoder{w: w}, true
	}
	return nil, false
}

type nopDecoder struct{ io.Writer }

func (nopDecoder) Close() error { return nil }

// base64Decoder decodes RFC 2045 §6.8 base64 leniently: characters outside
// the alphabet are ignored, and "=" ends a quantum early, so that
// concatenated encodings decode too. A lone trailing character is dropped.
type base64Decoder struct {
	w   io.Writer
	q   [4]byte
	n   int
	out []byte
}

func (d *base64Decoder) Write(p []byte) (int, error) {
	out := d.out[:0]
	for _, c := range p {
		v := base64Value(c)
		if v < 0 {
			if c == '=' {
				out = d.flush(out)
			}
			continue
		}
		d.q[d.n] = byte(v)
		if d.n++; d.n == 4 {
			out = append(out, d.q[0]<<2|d.q[1]>>4, d.q[1]<<4|d.q[2]>>2, d.q[2]<<6|d.q[3])
			d.n = 0
		}
	}
	d.out = out
	return len(p), writeAll(d.w, out)
}

// flush appends the bytes of a partial quantum.
func (d *base64Decoder) flush(out []byte) []byte {
	switch d.n {
	case 2:
		out = append(out, d.q[0]<<2|d.q[1]>>4)
	case 3:
		out = append(out, d.q[0]<<2|d.q[1]>>4, d.q[1]<<4|d.q[2]>>2)
	}
	d.n = 0
	return out
}

func (d *base64Decoder) Close() error { return writeAll(d.w, d.flush(d.out[:0])) }

func base64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

func writeAll(w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// decodeReader reads src through a decoder.
type decodeReader struct {
	src io.Reader
	dec decoder
	out bytes.Buffer // decoded, not yet read
	raw []byte
	err error
}

func newDecodeReader(enc string, src io.Reader) (*decodeReader, bool) {
	r := &decodeReader{src: src, raw: make([]byte, 8<<10)}
	dec, ok := newDecoder(enc, &r.out)
	r.dec = dec
	return r, ok
}

func (r *decodeReader) Read(p []byte) (int, error) {
	for r.out.Len() == 0 && r.err == nil {
		n, err := r.src.Read(r.raw)
		r.dec.Write(r.raw[:n]) // writing to a bytes.Buffer cannot fail
		if err == io.EOF {
			r.dec.Close()
		}
		r.err = err
	}
	if r.out.Len() > 0 {
		return r.out.Read(p)
	}
	return 0, r.err
}
