package mailauth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxHeader bounds how much of a message's header is held in memory.
const maxHeader = 1 << 20

// field is one header field as it appeared: Raw has its line endings and
// continuation lines; Name is trimmed.
type field struct {
	Raw  string
	Name string
}

// Value returns the field's body after the colon, unfolded: line breaks
// removed, the whitespace around them kept.
func (f field) Value() string {
	_, v, _ := strings.Cut(f.Raw, ":")
	v = strings.ReplaceAll(v, "\r", "")
	return strings.ReplaceAll(v, "\n", "")
}

// header is a message's header as read by readHeader.
type header struct {
	Raw    []byte // the bytes read, including the empty line if there was one
	Fields []field
	Ended  bool // the header ended with an empty line, not at end of input
}

var errNoHeader = errors.New("message has no header")

// readHeader reads a message header from br up to and including the empty
// line that ends it, leaving br at the first byte of the body. Lines end in
// CRLF or LF. A line without a colon inside the header is kept as a field
// without a name, but the first line must be a field.
func readHeader(br *bufio.Reader) (*header, error) {
	h := &header{}
	fieldsEnd := -1
	midLine := false // the last read stopped inside a long line
	for {
		line, err := br.ReadSlice('\n')
		if len(h.Raw)+len(line) > maxHeader {
			return nil, fmt.Errorf("header longer than %d bytes", maxHeader)
		}
		h.Raw = append(h.Raw, line...)
		if err == bufio.ErrBufferFull {
			midLine = true
			continue
		}
		if !midLine && (string(line) == "\n" || string(line) == "\r\n") {
			h.Ended = true
			fieldsEnd = len(h.Raw) - len(line)
			break
		}
		midLine = false
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
	}
	if fieldsEnd < 0 {
		fieldsEnd = len(h.Raw)
	}
	h.Fields = parseFields(h.Raw[:fieldsEnd])
	if len(h.Fields) == 0 || h.Fields[0].Name == "" {
		return nil, errNoHeader
	}
	return h, nil
}

// parseFields splits header lines into fields: a line starting with a
// space or tab continues the field before it.
func parseFields(raw []byte) []field {
	var fields []field
	start := 0
	for i := 0; i < len(raw); {
		next := len(raw)
		if j := bytes.IndexByte(raw[i:], '\n'); j >= 0 {
			next = i + j + 1
		}
		if next < len(raw) && (raw[next] == ' ' || raw[next] == '\t') {
			i = next // the field goes on
			continue
		}
		fields = append(fields, newField(string(raw[start:next])))
		start, i = next, next
	}
	return fields
}

func newField(raw string) field {
	name, _, ok := strings.Cut(raw, ":")
	name = strings.TrimRight(name, " \t")
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		name = ""
	}
	return field{Raw: raw, Name: name}
}

// Get returns the fields named name, top to bottom.
func (h *header) Get(name string) []field {
	var fs []field
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			fs = append(fs, f)
		}
	}
	return fs
}

// relaxedHeader canonicalizes one header field with the "relaxed"
// algorithm of RFC 6376 section 3.4.2: lower-case name, unfolded value, runs
// of whitespace made one space, no whitespace around the colon or at the
// end. The result ends in CRLF.
func relaxedHeader(raw string) string {
	name, value, _ := strings.Cut(raw, ":")
	value = strings.Join(strings.FieldsFunc(value, isFWS), " ")
	return strings.ToLower(strings.TrimRight(name, " \t")) + ":" + value + "\r\n"
}

func isFWS(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }
