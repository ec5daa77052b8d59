package mailauth

import (
	"bufio"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// signedFields are the header fields Sign covers, in h= order; From is
// listed once more than it occurs ("over-signed", RFC 6376 section 8.15) so
// that a From added later breaks the signature.
var signedFields = []string{
	"from", "to", "cc", "subject", "date", "message-id", "reply-to",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding",
}

// maxColumns is the folding limit of the fields this package writes: every
// line is shorter (RFC 5322 section 2.1.1 recommends 78).
const maxColumns = 78

// Sign reads a whole message and returns the DKIM-Signature header fields
// (one per key, each ending in CRLF, folded to < 78 columns) to prepend to it.
// relaxed/relaxed, sha256, signs From, To, Cc, Subject, Date, Message-ID,
// Reply-To, In-Reply-To, References, MIME-Version, Content-Type,
// Content-Transfer-Encoding (From over-signed). Streams: never holds the body.
func Sign(r io.Reader, keys []Key, now time.Time) (string, error) {
	signers := make([]crypto.Signer, len(keys))
	for i, k := range keys {
		s, err := k.signer()
		if err != nil {
			return "", fmt.Errorf("dkim sign with %s: %w", k.Selector, err)
		}
		signers[i] = s
	}
	br := bufio.NewReader(r)
	h, err := readHeader(br)
	if err != nil {
		return "", fmt.Errorf("dkim sign: %w", err)
	}
	for _, f := range h.Fields {
		if f.Name == "" {
			// Verifiers differ on what such a line is: sign nothing rather
			// than something that may not verify.
			return "", fmt.Errorf("dkim sign: malformed header line %.40q", f.Raw)
		}
	}
	if len(h.Get("From")) == 0 {
		return "", errors.New("dkim sign: message has no From field")
	}
	bodyHash := sha256.New()
	body := &relaxedBody{w: bodyHash}
	if _, err := io.Copy(body, br); err != nil {
		return "", fmt.Errorf("dkim sign: read body: %w", err)
	}
	body.Close() // writes to a hash: cannot fail
	bh := base64.StdEncoding.EncodeToString(bodyHash.Sum(nil))

	var out strings.Builder
	for i, k := range keys {
		f, err := signOne(h, k, signers[i], bh, now)
		if err != nil {
			return "", fmt.Errorf("dkim sign with %s: %w", k.Selector, err)
		}
		out.WriteString(f)
	}
	return out.String(), nil
}

// signOne returns the DKIM-Signature field of one key.
func signOne(h *header, k Key, s crypto.Signer, bh string, now time.Time) (string, error) {
	names := signedNames(h)
	var f folder
	f.word("DKIM-Signature:")
	f.word(" v=1;")
	f.word(" a=" + k.Algorithm + "-sha256;")
	f.word(" c=relaxed/relaxed;")
	f.word(" d=" + k.Domain + ";")
	f.word(" s=" + k.Selector + ";")
	f.word(" t=" + strconv.FormatInt(now.Unix(), 10) + ";")
	for i, n := range names {
		switch {
		case i == 0:
			f.word(" h=" + n + ":")
		case i == len(names)-1:
			f.word(n + ";")
		default:
			f.word(n + ":")
		}
	}
	f.word(" bh=" + bh + ";")
	f.word(" b=")

	// RFC 6376 section 3.7: the signed fields in h= order, then this field
	// with an empty b= and no final CRLF.
	hash := sha256.New()
	// Instances of a name are used from the bottom of the header up
	// (RFC 6376 section 5.4.2).
	bottomUp := map[string][]string{}
	for i := len(h.Fields) - 1; i >= 0; i-- {
		n := strings.ToLower(h.Fields[i].Name)
		bottomUp[n] = append(bottomUp[n], h.Fields[i].Raw)
	}
	for _, n := range names {
		if fs := bottomUp[n]; len(fs) > 0 {
			io.WriteString(hash, relaxedHeader(fs[0]))
			bottomUp[n] = fs[1:]
		}
	}
	io.WriteString(hash, strings.TrimSuffix(relaxedHeader(f.String()), "\r\n"))
	digest := hash.Sum(nil)

	var opts crypto.SignerOpts = crypto.SHA256
	if k.Algorithm == "ed25519" {
		opts = crypto.Hash(0) // RFC 8463: pure Ed25519 over the SHA-256 digest
	}
	sig, err := s.Sign(rand.Reader, digest, opts)
	if err != nil {
		return "", err
	}
	f.chars(base64.StdEncoding.EncodeToString(sig))
	return f.String() + "\r\n", nil
}

// signedNames returns the h= list for h: each of signedFields as often as
// it occurs, From once more.
func signedNames(h *header) []string {
	count := map[string]int{"from": 1}
	for _, f := range h.Fields {
		count[strings.ToLower(f.Name)]++
	}
	var names []string
	for _, n := range signedFields {
		for range count[n] {
			names = append(names, n)
		}
	}
	return names
}

// folder builds a header field that folds before maxColumns.
type folder struct {
	b   strings.Builder
	col int
}

// word appends w, folding before it if it does not fit; a leading space of
// w is where the fold goes.
func (f *folder) word(w string) {
	if f.col+len(w) >= maxColumns && f.col > 1 {
		f.b.WriteString("\r\n ")
		f.col = 1
		w = strings.TrimPrefix(w, " ")
	}
	f.b.WriteString(w)
	f.col += len(w)
}

// chars appends s, folding inside it wherever a line is full (for the b=
// value, in which whitespace does not count).
func (f *folder) chars(s string) {
	for s != "" {
		room := maxColumns - 1 - f.col
		if room <= 0 {
			f.b.WriteString("\r\n ")
			f.col = 1
			continue
		}
		n := min(room, len(s))
		f.b.WriteString(s[:n])
		f.col += n
		s = s[n:]
	}
}

func (f *folder) String() string { return f.b.String() }
