package mailauth

import (
	"bufio"
	"io"
	"strings"
)

// StripAuthResults returns r without the Authentication-Results header fields
// whose authserv-id is hostname (case-insensitive): forged ones claiming to be
// ours (RFC 8601 §5). Other fields, the body and line endings pass through
// byte for byte; it streams.
//
// The header is everything before the first empty line. Fields are held
// one at a time (each at most as long as the input makes it).
func StripAuthResults(r io.Reader, hostname string) io.Reader {
	return &stripper{br: bufio.NewReader(r), host: hostname}
}

type stripper struct {
	br      *bufio.Reader
	host    string
	pending []byte // the next bytes to hand out
	inBody  bool   // the header has been passed through
	err     error  // the error that ends the header (io.EOF at the end)
}

func (s *stripper) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.inBody {
			return s.br.Read(p)
		}
		if s.err != nil {
			return 0, s.err
		}
		s.nextField()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// nextField reads one header field (or the empty line) into pending,
// leaving pending empty if the field is dropped.
func (s *stripper) nextField() {
	line, err := s.br.ReadBytes('\n')
	s.err = err
	if string(line) == "\n" || string(line) == "\r\n" {
		s.pending, s.inBody = line, true
		return
	}
	f := line
	for err == nil && isContinuation(s.br) {
		line, err = s.br.ReadBytes('\n')
		s.err = err
		f = append(f, line...)
	}
	if isOurAuthResults(string(f), s.host) {
		f = nil
	}
	s.pending = f
}

// isContinuation reports whether the next line continues a field.
func isContinuation(br *bufio.Reader) bool {
	b, err := br.Peek(1)
	return err == nil && (b[0] == ' ' || b[0] == '\t')
}

// isOurAuthResults reports whether raw is an Authentication-Results field
// whose authserv-id is host.
func isOurAuthResults(raw, host string) bool {
	name, value, ok := strings.Cut(raw, ":")
	if !ok || !strings.EqualFold(strings.TrimRight(name, " \t"), "Authentication-Results") {
		return false
	}
	return strings.EqualFold(authservID(value), host)
}

// authservID returns the authserv-id that starts an Authentication-Results
// value: the first token after whitespace and comments (RFC 8601 section
// 2.2), ending at whitespace, a comment or ";". Quoted-string ids are
// unquoted.
func authservID(v string) string {
	v = skipCFWS(v)
	if strings.HasPrefix(v, `"`) {
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch c := v[i]; c {
			case '"':
				return b.String()
			case '\\':
				if i+1 < len(v) {
					i++
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	end := strings.IndexAny(v, " \t\r\n(;")
	if end < 0 {
		return v
	}
	return v[:end]
}

// skipCFWS drops leading whitespace, line breaks and (nested) comments.
func skipCFWS(v string) string {
	depth := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0:
			i++
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return v[i:]
		}
	}
	return ""
}
