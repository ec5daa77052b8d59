package mailauth

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// checkDKIM verifies every DKIM-Signature of the message whose header is h
// and whose body follows in body. It returns one result per signature, in
// header order; an error only if the body could not be read.
func (v *Verifier) checkDKIM(ctx context.Context, h *header, body io.Reader) ([]DKIMResult, error) {
	fields := h.Get("DKIM-Signature")
	if len(fields) == 0 {
		return nil, nil
	}
	results := make([]DKIMResult, len(fields))
	signed := map[string]bool{"dkim-signature": true}
	picks := 0 // the h= entries of the signatures go-msgauth checks
	for i, f := range fields {
		tags := parseTags(f.Value())
		results[i] = DKIMResult{Domain: tags["d"], Selector: tags["s"], Result: "neutral"}
		names := strings.Split(tags["h"], ":")
		for _, n := range names {
			signed[strings.ToLower(n)] = true
		}
		if i < maxSignatures {
			picks += len(names)
		}
	}
	stream, ok := signedPart(h, signed, picks, body)
	if !ok {
		for i := range results {
			results[i].Result = "permerror"
		}
		return results, nil
	}
	opts := &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return v.resolver().LookupTXT(ctx, name)
		},
		MaxVerifications: maxSignatures,
	}
	verifs, err := dkim.VerifyWithOptions(stream, opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return nil, err
	}
	for i, vf := range verifs {
		if i < len(results) {
			results[i].Result = v.dkimResult(vf)
		}
	}
	return results, nil
}

// maxFoldCost bounds the folding of the fields a verification reads:
// go-msgauth joins a field's lines one by one, which takes time that grows
// with (field length) x (number of lines). Real fields, even a Cc of a
// thousand addresses, stay far below this; a header built to make
// verification slow does not.
const maxFoldCost = 64 << 20

// maxPickCost bounds (h= entries) x (fields): go-msgauth looks each h=
// entry up by scanning the header. Real signatures name a few dozen
// fields of a header of a few dozen.
const maxPickCost = 4 << 20

// signedPart returns the message as the DKIM verifier needs it: only the
// DKIM-Signature fields and the fields some signature names in h=, in their
// order, then the body. A signature only covers fields it names, so the
// others make no difference to any result. ok is false if those fields are
// so many or folded so much that verifying them would be a denial of
// service (each signature then gets permerror); picks is the number of h=
// entries to look up.
func signedPart(h *header, signed map[string]bool, picks int, body io.Reader) (r io.Reader, ok bool) {
	var b strings.Builder
	cost, fields := 0, 0
	for _, f := range h.Fields {
		if !signed[strings.ToLower(f.Name)] {
			continue
		}
		fields++
		cost += len(f.Raw) * strings.Count(f.Raw, "\n")
		if cost > maxFoldCost || fields*picks > maxPickCost {
			return nil, false
		}
		b.WriteString(f.Raw)
		if !strings.HasSuffix(f.Raw, "\n") {
			b.WriteString("\r\n") // the header ended at end of input
		}
	}
	b.WriteString("\r\n")
	return io.MultiReader(strings.NewReader(b.String()), body), true
}

// dkimResult maps a go-msgauth verification to an RFC 8601 result.
func (v *Verifier) dkimResult(vf *dkim.Verification) string {
	switch err := vf.Err; {
	case err == nil:
		if !vf.Expiration.IsZero() && v.now().After(vf.Expiration) {
			return "permerror" // x= is past (RFC 6376 section 3.5)
		}
		return "pass"
	case dkim.IsTempFail(err):
		return "temperror"
	case dkim.IsPermFail(err):
		return "permerror"
	default:
		return "fail"
	}
}

// parseTags reads a DKIM tag list ("a=b; c=d") leniently, for reporting:
// the verification itself parses again, strictly. Whitespace in values is
// dropped, as every DKIM value we report here is a name.
func parseTags(s string) map[string]string {
	tags := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := tags[k]; !dup {
			tags[k] = strings.Join(strings.FieldsFunc(val, isFWS), "")
		}
	}
	return tags
}
