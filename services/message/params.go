package message

import (
	"strconv"
	"strings"
)

// parseContentType parses a Content-Type value (RFC 2045 §5.1). ok is false
// if the type is not type "/" subtype.
func parseContentType(v string) (typ, sub string, params map[string]string, ok bool) {
	value, params := parseParamValue(v)
	typ, sub, found := strings.Cut(value, "/")
	typ, sub = strings.TrimSpace(typ), strings.TrimSpace(sub)
	if !found || !isToken(typ) || !isToken(sub) {
		return "", "", nil, false
	}
	return typ, sub, params, true
}

// parseDisposition parses a Content-Disposition value (RFC 2183). A
// malformed value keeps its leading token.
func parseDisposition(v string) (string, map[string]string) {
	value, params := parseParamValue(v)
	end := 0
	for end < len(value) && isTokenChar(value[end]) {
		end++
	}
	if end == 0 {
		return "", nil
	}
	return value[:end], params
}

// parseParamValue splits a header value of the form value *(";" param)
// into its lower case value, without comments, and its parameters.
func parseParamValue(v string) (string, map[string]string) {
	value, rest, _ := strings.Cut(v, ";")
	value = strings.ToLower(strings.TrimSpace(stripComments(value)))
	return value, combineParams(splitParams(rest))
}

// stripComments removes RFC 5322 comments, which may nest.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0:
			i++
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

type rawParam struct{ name, value string }

// splitParams splits `a=b; c="d;e"` into parameters, leniently: values may
// be unquoted with spaces in them, and malformed parameters are skipped.
func splitParams(s string) []rawParam {
	var out []rawParam
	for s != "" {
		var name string
		i := strings.IndexAny(s, "=;")
		if i < 0 {
			break
		}
		name, s = strings.ToLower(strings.TrimSpace(s[:i])), s[i:]
		if s[0] == ';' {
			s = s[1:]
			continue
		}
		var value string
		value, s = paramValue(strings.TrimLeft(s[1:], " \t\r\n"))
		if name != "" {
			out = append(out, rawParam{name, value})
		}
	}
	return out
}

// paramValue reads a quoted string or a token at the start of s and returns
// it and what follows the next ";".
func paramValue(s string) (value, rest string) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		_, rest, _ = strings.Cut(s[min(i, len(s)):], ";")
		return b.String(), rest
	}
	value, rest, _ = strings.Cut(s, ";")
	value = strings.TrimSpace(value)
	// `us-ascii (Plain Text)`: a comment after a token.
	if i := strings.IndexAny(value, " \t"); i >= 0 && strings.HasPrefix(strings.TrimLeft(value[i:], " \t"), "(") {
		value = value[:i]
	}
	return value, rest
}

// segment is one piece of an RFC 2231 parameter value.
type segment struct {
	value    string
	extended bool // percent-encoded, the first with a charset'language' prefix
}

// combineParams applies RFC 2231 (continuations, charsets) and RFC 2047
// (encoded words, common in the wild) to raw parameters. The first of
// duplicate parameters wins; an RFC 2231 value beats a plain one.
func combineParams(raw []rawParam) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	params := make(map[string]string)
	pieces := make(map[string]map[int]segment)
	for _, p := range raw {
		name, idx, ext, ok := split2231(p.name)
		if !ok {
			if _, dup := params[p.name]; !dup {
				params[p.name] = p.value
			}
			continue
		}
		if pieces[name] == nil {
			pieces[name] = make(map[int]segment)
		}
		if _, dup := pieces[name][idx]; !dup {
			pieces[name][idx] = segment{p.value, ext}
		}
	}
	for name, segs := range pieces {
		if v, ok := join2231(segs); ok {
			params[name] = v
		}
	}
	for k, v := range params {
		params[k] = clean(decodeWords(v))
	}
	return params
}

// split2231 splits an RFC 2231 parameter name: "name*" (idx 0, extended),
// "name*3" or "name*3*". ok is false for a plain name.
func split2231(name string) (base string, idx int, ext, ok bool) {
	base, ext = strings.CutSuffix(name, "*")
	b, num, cont := strings.Cut(base, "*")
	if base == "" {
		return name, 0, false, false
	}
	if !cont {
		return base, 0, ext, ext
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || (len(num) > 1 && num[0] == '0') || b == "" {
		return name, 0, false, false
	}
	return b, n, ext, true
}

// join2231 concatenates the segments 0, 1, ... up to the first missing one
// and converts the result from the charset named in segment 0.
func join2231(segs map[int]segment) (string, bool) {
	first, ok := segs[0]
	if !ok {
		return "", false
	}
	label := ""
	if first.extended {
		if cs, rest, ok := strings.Cut(first.value, "'"); ok {
			if _, v, ok := strings.Cut(rest, "'"); ok {
				label, first.value = cs, v
			}
		}
		segs[0] = first
	}
	var b []byte
	for i := 0; i < len(segs); i++ {
		s, ok := segs[i]
		if !ok {
			break
		}
		if s.extended {
			b = percentDecode(b, s.value)
		} else {
			b = append(b, s.value...)
		}
	}
	return decodeCharset(label, b), true
}

// percentDecode appends s to b, decoding %XX; a malformed escape stays.
func percentDecode(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// isTokenChar reports whether c may appear in an RFC 2045 token.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}
