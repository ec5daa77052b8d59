package message

import (
	"strings"

	"github.com/emersion/go-message/textproto"
)

// setMIME fills in p's MIME fields from its header h (RFC 2045, 2183,
// 3066, 2557, 1864). inDigest is true for the children of a
// multipart/digest, whose default type is message/rfc822 (RFC 2046 §5.1.5).
func setMIME(p *Part, h textproto.Header, inDigest bool) {
	p.Type, p.Subtype = "text", "plain"
	ct := h.Get("Content-Type")
	switch {
	case ct == "" && inDigest:
		p.Type, p.Subtype = "message", "rfc822"
	case ct != "":
		// RFC 2045 §5.2: a syntax error means text/plain.
		if t, s, params, ok := parseContentType(ct); ok {
			p.Type, p.Subtype, p.Params = clean(t), clean(s), params
		}
	}
	p.Encoding = clean(parseEncoding(h.Get("Content-Transfer-Encoding")))
	p.ID = clean(h.Get("Content-Id"))
	p.Description = clean(h.Get("Content-Description"))
	p.MD5 = clean(h.Get("Content-Md5"))
	p.Location = clean(h.Get("Content-Location"))
	if v := h.Get("Content-Disposition"); v != "" {
		p.Disposition, p.DispositionParams = parseDisposition(v)
		p.Disposition = clean(p.Disposition)
		if p.Disposition == "" {
			p.DispositionParams = nil
		}
	}
	p.Language = parseLanguages(h.Get("Content-Language"))
}

// parseEncoding returns the lower case mechanism of a
// Content-Transfer-Encoding value, without comments.
func parseEncoding(v string) string {
	v = strings.TrimSpace(stripComments(v))
	if i := strings.IndexAny(v, " \t;"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}

// parseLanguages splits a Content-Language value into its tags.
func parseLanguages(v string) []string {
	var l []string
	for _, tag := range strings.Split(stripComments(v), ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			l = append(l, clean(tag))
		}
	}
	return l
}

// isIdentity reports whether enc leaves the body as it is.
func isIdentity(enc string) bool {
	switch enc {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}
