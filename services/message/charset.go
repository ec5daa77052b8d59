package message

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// charsetReader converts input from the charset label (RFC 2046 §4.1.2) to
// UTF-8 with go-message's charset package, which knows the IANA charsets.
//
// Importing that package also sets go-message's CharsetReader, so that
// go-imap's ExtractEnvelope decodes every charset too.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "", "utf-8", "utf8", "us-ascii":
		return input, nil
	}
	return charset.Reader(label, input)
}

// lenientCharsetReader is charsetReader, except that it reads text in an
// unknown charset as UTF-8, so that its ASCII still matches.
func lenientCharsetReader(label string, input io.Reader) (io.Reader, error) {
	if r, err := charsetReader(label, input); err == nil {
		return r, nil
	}
	return input, nil
}

// decodeCharset converts b from the charset label to valid UTF-8.
func decodeCharset(label string, b []byte) string {
	r, _ := lenientCharsetReader(label, bytes.NewReader(b))
	d, err := io.ReadAll(r)
	if err != nil {
		d = b
	}
	return strings.ToValidUTF8(string(d), "\uFFFD")
}

// decodeWords decodes the RFC 2047 encoded words in s. Words in unknown
// charsets, and malformed ones, stay as they are.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	dec := mime.WordDecoder{CharsetReader: charsetReader}
	if d, err := dec.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// clean makes s valid UTF-8 of at most maxValue bytes, for keeping.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxValue {
		return s
	}
	s = s[:maxValue]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// utf8Tail returns how many bytes at the end of b are an incomplete UTF-8
// sequence that the next bytes may complete.
func utf8Tail(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}
