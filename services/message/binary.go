package message

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
)

// ErrUnknownEncoding is returned by Binary and BinarySize for a part whose
// Content-Transfer-Encoding is unknown: the server answers NO
// [UNKNOWN-CTE] (RFC 3516 §4.3).
var ErrUnknownEncoding = errors.New("unknown content-transfer-encoding")

// Binary returns the content of BINARY[part]<partial> (RFC 3516): the
// part's body with its Content-Transfer-Encoding undone, and its exact
// length. Multipart and message parts are returned as they are. With an
// empty part, it is the top-level header followed by the decoded body, as
// in go-imap. A part that does not exist is empty.
func Binary(ra io.ReaderAt, i *Info, part []int, partial *imap.SectionPartial) (io.Reader, int64, error) {
	p := resolve(i.Root, part)
	if p == nil {
		return empty()
	}
	size, err := binarySize(i, p, len(part) == 0)
	if err != nil {
		return nil, 0, err
	}
	var r io.Reader = io.NewSectionReader(ra, p.BodyStart, p.End-p.BodyStart)
	if p.isLeaf() {
		r, _ = newDecodeReader(p.Encoding, r)
	}
	if len(part) == 0 {
		r = io.MultiReader(io.NewSectionReader(ra, p.HeaderStart, p.BodyStart-p.HeaderStart), r)
	}
	start, end := applyPartial(0, size, partial)
	if start > 0 {
		r = &skipReader{r: r, skip: start}
	}
	return exactReader(r, end-start), end - start, nil
}

// BinarySize returns the size of BINARY[part] without reading the message
// (RFC 3516 BINARY.SIZE). A part that does not exist has size 0.
func BinarySize(i *Info, part []int) (int64, error) {
	p := resolve(i.Root, part)
	if p == nil {
		return 0, nil
	}
	return binarySize(i, p, len(part) == 0)
}

func binarySize(i *Info, p *Part, whole bool) (int64, error) {
	size := p.End - p.BodyStart
	if p.isLeaf() {
		if _, ok := newDecoder(p.Encoding, nil); !ok {
			return 0, fmt.Errorf("binary %q: %w", p.Encoding, ErrUnknownEncoding)
		}
		size = p.DecodedSize
	}
	if whole {
		size += p.BodyStart - p.HeaderStart
	}
	return size, nil
}

// skipReader discards the first skip bytes of r.
type skipReader struct {
	r    io.Reader
	skip int64
}

func (s *skipReader) Read(p []byte) (int, error) {
	if s.skip > 0 {
		n, err := io.CopyN(io.Discard, s.r, s.skip)
		s.skip -= n
		if err != nil {
			return 0, err
		}
	}
	return s.r.Read(p)
}
