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
	for i, f := range fields {
		tags := parseTags(f.Value())
		results[i] = DKIMResult{Domain: tags["d"], Selector: tags["s"], Result: "neutral"}
	}
	opts := &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return v.resolver().LookupTXT(ctx, name)
		},
		MaxVerifications: maxSignatures,
	}
	verifs, err := dkim.VerifyWithOptions(h.Stream(body), opts)
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
