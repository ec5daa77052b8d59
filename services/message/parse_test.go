package message

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// span is a part's offsets and counts, for hand-checked expectations.
type span struct {
	HeaderStart, BodyStart, End, Lines, DecodedSize int64
	Type                                            string
}

func spanOf(p *Part) span {
	return span{p.HeaderStart, p.BodyStart, p.End, p.Lines, p.DecodedSize, p.Type + "/" + p.Subtype}
}

// flatten lists the parts of a tree in pre-order, embedded messages included.
func flatten(p *Part) []*Part {
	l := []*Part{p}
	for _, c := range p.Children {
		l = append(l, flatten(c)...)
	}
	if p.Message != nil {
		l = append(l, flatten(p.Message)...)
	}
	return l
}

func TestParseOffsets(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		size  int64
		parts []span // pre-order
	}{
		{"simple", "Subject: a\r\n\r\nbody\r\n", 20, []span{{0, 14, 20, 1, 6, "text/plain"}}},
		{"empty", "", 0, []span{{0, 0, 0, 0, 0, "text/plain"}}},
		{"no header", "hello\r\n", 7, []span{{0, 0, 7, 1, 7, "text/plain"}}},
		{"only header, no newline", "Subject: x", 10, []span{{0, 10, 10, 0, 0, "text/plain"}}},
		{"only header", "Subject: x\r\n", 12, []span{{0, 12, 12, 0, 0, "text/plain"}}},
		{"blank line only", "\r\n", 2, []span{{0, 2, 2, 0, 0, "text/plain"}}},
		{"body line ends header", "Subject: x\r\nbody\r\n", 18, []span{{0, 12, 18, 1, 6, "text/plain"}}},
		{"continuation first", " folded\r\n", 9, []span{{0, 0, 9, 1, 9, "text/plain"}}},
		{
			"multipart CRLF",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\none\r\n--b\r\nX: y\r\n\r\ntwo\r\n--b--\r\nepi\r\n",
			92,
			[]span{{0, 45, 92, 0, 0, "multipart/mixed"}, {55, 57, 60, 0, 3, "text/plain"}, {67, 75, 78, 0, 3, "text/plain"}},
		},
		{
			"multipart LF",
			"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\nX: y\n\ntwo\n--b--\nepi\n",
			80,
			[]span{{0, 43, 80, 0, 0, "multipart/mixed"}, {51, 52, 55, 0, 3, "text/plain"}, {60, 66, 69, 0, 3, "text/plain"}},
		},
		{
			"boundary ends a child's header",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--\r\n",
			83,
			[]span{{0, 45, 83, 0, 0, "multipart/mixed"}, {50, 76, 76, 0, 0, "text/plain"}},
		},
		{
			"two boundaries in a row",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\nx\r\n--b--",
			65,
			[]span{{0, 45, 65, 0, 0, "multipart/mixed"}, {50, 50, 50, 0, 0, "text/plain"}, {55, 57, 58, 0, 1, "text/plain"}},
		},
		{
			"unterminated multipart",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\ny\r\n",
			58,
			[]span{{0, 45, 58, 0, 0, "multipart/mixed"}, {50, 52, 58, 2, 6, "text/plain"}},
		},
		{
			"message/rfc822",
			"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n",
			53,
			[]span{{0, 32, 53, 3, 0, "message/rfc822"}, {32, 47, 53, 1, 6, "text/plain"}},
		},
		{
			"base64 decoded size",
			"Content-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n",
			49,
			[]span{{0, 37, 49, 2, 5, "text/plain"}},
		},
		{
			"quoted-printable decoded size",
			"Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc  \r\n",
			60,
			[]span{{0, 47, 60, 2, 6, "text/plain"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := mustParse(t, []byte(tc.msg))
			if info.Size != tc.size {
				t.Errorf("Size: got %d, want %d", info.Size, tc.size)
			}
			var got []span
			for _, p := range flatten(info.Root) {
				got = append(got, spanOf(p))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.parts) {
				t.Errorf("parts:\ngot  %+v\nwant %+v", got, tc.parts)
			}
		})
	}
}

// TestParseCorpus checks by hand the structures that go-imap cannot be
// compared with: broken MIME, RFC 2231 and charsets, digests.
func TestParseCorpus(t *testing.T) {
	tests := []struct{ name, want string }{
		{"encoded-words.eml", `(("text" "plain" ("charset" "iso-8859-1") "" "" "quoted-printable" 40 1 NIL [] "")` +
			`("text" "plain" ("charset" "windows-1252" "name" "naïve notes.txt") "" "" "quoted-printable" 36 1 ("attachment" ("filename" "échange de données.txt")) [] "")` +
			`("application" "octet-stream" NIL "" "" "base64" 8 ("attachment" ("creation-date" "Fri, 11 Oct 2024 12:00:00 +0200" "filename" "résumé.bin")) [] "")` +
			`("application" "octet-stream" ("name" "pièce.dat") "" "" "base64" 8 NIL [] "") "mixed" ("boundary" "b1") NIL [] "")`},
		{"digest.eml", `(("message" "rfc822" NIL "" "" "7bit" 64 (NIL "First post" [{ one example.com}] [] [] [] [] [] [] "") ("text" "plain" NIL "" "" "7bit" 18 1 NIL [] "") 4 NIL [] "")` +
			`("text" "plain" NIL "" "" "7bit" 14 0 NIL [] "")` +
			`("message" "rfc822" NIL "" "" "7bit" 64 (NIL "Second post" [{ two example.com}] [] [] [] [] [] [] "") ("text" "plain" NIL "" "" "7bit" 17 0 NIL [] "") 3 NIL [] "") "digest" ("boundary" "dig") NIL [] "")`},
		{"broken-missing-boundary.eml", `("text" "plain" NIL "" "" "7bit" 87 5 NIL [] "")`},
		{"broken-boundary-absent.eml", `("text" "plain" NIL "" "" "7bit" 54 5 NIL [] "")`},
		{"broken-bad-base64.eml", `("text" "plain" ("charset" "utf-8") "" "" "base64" 41 4 NIL [] "")`},
		{"broken-no-separator.eml", `("text" "plain" NIL "" "" "7bit" 66 2 NIL [] "")`},
		{"headers-only.eml", `("text" "plain" NIL "" "" "7bit" 0 0 NIL [] "")`},
		{"empty.eml", `("text" "plain" NIL "" "" "7bit" 0 0 NIL [] "")`},
		{"boundary-prefix.eml", `((("text" "plain" NIL "" "" "7bit" 5 0 NIL [] "")("text" "html" NIL "" "" "7bit" 11 0 NIL [] "") "alternative" ("boundary" "=_b_alt") NIL [] "")` +
			`("text" "plain" NIL "" "" "7bit" 4 0 NIL [] "") "mixed" ("boundary" "=_b") NIL [] "")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := mustParse(t, load(t, tc.name))
			if got := formatBS(info.BodyStructure(true)); got != tc.want {
				t.Errorf("BODYSTRUCTURE:\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseEnvelopeCharsets(t *testing.T) {
	info := mustParse(t, load(t, "encoded-words.eml"))
	want := `(11-Oct-2024 12:00:00 +0200 "Échange de données – résumé" [{André Müller andre example.de}] [] [] ` +
		`[{François francois example.fr} {Renée “Q” renee example.fr}] [] [] [] "words@example.de")`
	if got := formatEnvelope(info.Envelope); got != want {
		t.Errorf("ENVELOPE:\ngot  %s\nwant %s", got, want)
	}
}

func TestParseNonExtended(t *testing.T) {
	info := mustParse(t, load(t, "nested-rfc822.eml"))
	bs := info.BodyStructure(false)
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		switch part := part.(type) {
		case *imap.BodyStructureMultiPart:
			if part.Extended != nil {
				t.Errorf("part %v: got extended data in BODY", path)
			}
		case *imap.BodyStructureSinglePart:
			if part.Extended != nil {
				t.Errorf("part %v: got extended data in BODY", path)
			}
		}
		return true
	})
}

// TestParseHugeHeader checks that a header block beyond MaxHeaderBytes is
// read to its end without keeping it: the fields after the cap are lost,
// the body is still found.
func TestParseHugeHeader(t *testing.T) {
	huge := strings.Repeat("x", 3*MaxHeaderBytes)
	tests := []struct {
		name, msg   string
		wantSubject string
		wantType    string
	}{
		{"long line first", "X-Long: " + huge + "\r\nSubject: lost\r\nContent-Type: text/html\r\n\r\nbody\r\n", "", "text/plain"},
		{"long line last", "Subject: kept\r\nContent-Type: text/html\r\nX-Long: " + huge + "\r\n\r\nbody\r\n", "kept", "text/html"},
		{"many lines", "Subject: kept\r\n" + strings.Repeat("X-Many: "+strings.Repeat("y", 990)+"\r\n", 2000) + "Content-Type: text/html\r\n\r\nbody\r\n", "kept", "text/plain"},
		{"long folded", "Subject: kept\r\nX-Folded: a\r\n" + strings.Repeat(" "+strings.Repeat("z", 100)+"\r\n", 30000) + "\r\nbody\r\n", "kept", "text/plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := []byte(tc.msg)
			info := mustParse(t, msg)
			if got := info.Envelope.Subject; got != tc.wantSubject {
				t.Errorf("Subject: got %q, want %q", got, tc.wantSubject)
			}
			if got := info.Root.Type + "/" + info.Root.Subtype; got != tc.wantType {
				t.Errorf("type: got %s, want %s", got, tc.wantType)
			}
			if got, want := info.Root.BodyStart, int64(len(msg)-len("body\r\n")); got != want {
				t.Errorf("BodyStart: got %d, want %d", got, want)
			}
			h, err := Header(bytes.NewReader(msg), info)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Get("Subject"); got != tc.wantSubject {
				t.Errorf("Header Subject: got %q, want %q", got, tc.wantSubject)
			}
			r, n, err := Section(bytes.NewReader(msg), info, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText})
			if got := readAllSection(t, r, n, err); string(got) != "body\r\n" {
				t.Errorf("TEXT: got %q", got)
			}
		})
	}
}

// nest returns a message with depth message/rfc822 and multipart levels.
func nest(depth int) []byte {
	var b bytes.Buffer
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "Content-Type: message/rfc822\r\n\r\n")
		} else {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		}
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 1 {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
	}
	return b.Bytes()
}

func TestParseDepth(t *testing.T) {
	tests := []struct {
		depth     int
		wantDepth int // of the deepest part
		wantLeaf  string
	}{
		{10, 10, "text/plain"},
		{MaxDepth, MaxDepth, "text/plain"},
		{MaxDepth + 1, MaxDepth, "application/octet-stream"},
		{1000, MaxDepth, "application/octet-stream"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.depth), func(t *testing.T) {
			info := mustParse(t, nest(tc.depth))
			p, d := info.Root, 0
			for {
				if p.Message != nil {
					p = p.Message
				} else if len(p.Children) > 0 {
					p = p.Children[0]
				} else {
					break
				}
				d++
			}
			if d != tc.wantDepth || p.Type+"/"+p.Subtype != tc.wantLeaf {
				t.Errorf("got depth %d, %s/%s, want depth %d, %s", d, p.Type, p.Subtype, tc.wantDepth, tc.wantLeaf)
			}
			if err := info.check(); err != nil {
				t.Error(err)
			}
			formatBS(info.BodyStructure(true))
		})
	}
}

func TestParseMaxParts(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < MaxParts+50; i++ {
		fmt.Fprintf(&b, "--b\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--b--\r\n")
	info := mustParse(t, b.Bytes())
	if got := len(flatten(info.Root)); got != MaxParts {
		t.Errorf("got %d parts, want %d", got, MaxParts)
	}
	last := info.Root.Children[len(info.Root.Children)-1]
	if got, want := last.End-last.BodyStart, int64(len(fmt.Sprintf("part %d", MaxParts-2))); got != want {
		t.Errorf("last part: got %d bytes, want %d", got, want)
	}
	if info.Root.End != info.Size {
		t.Errorf("root End: got %d, want %d", info.Root.End, info.Size)
	}
}

// TestHeaderCapAgrees checks that Header, which stops reading at the cap,
// keeps the same fields as Parse, which reads the header to its end: those
// that end within MaxHeaderBytes.
func TestHeaderCapAgrees(t *testing.T) {
	for _, pad := range []int{-20, -2, -1, 0, 1, 2} {
		for _, next := range []string{" continued\r\n", "Next: field\r\n", "\r\n", "garbage\r\n"} {
			const head = "Subject: kept\r\nContent-Description: \r\n"
			filler := "Content-Description: " + strings.Repeat("f", MaxHeaderBytes-len(head)+pad) + "\r\n"
			msg := "Subject: kept\r\n" + filler + next + "\r\nbody"
			t.Run(fmt.Sprintf("%d %q", pad, next), func(t *testing.T) {
				info := mustParse(t, []byte(msg))
				h, err := Header(strings.NewReader(msg), info)
				if err != nil {
					t.Fatal(err)
				}
				end := len("Subject: kept\r\n") + len(filler)
				if strings.HasPrefix(next, " ") {
					end += len(next)
				}
				want := end <= MaxHeaderBytes
				if got := info.Root.Description != ""; got != want {
					t.Errorf("Parse kept Content-Description: got %v, want %v", got, want)
				}
				if got := h.Get("Content-Description") != ""; got != want {
					t.Errorf("Header kept Content-Description: got %v, want %v", got, want)
				}
				nextKept := strings.HasPrefix(next, "Next") && end+len(next) <= MaxHeaderBytes
				if got := h.Get("Next") != ""; got != nextKept {
					t.Errorf("Header kept Next: got %v, want %v", got, nextKept)
				}
				if h.Get("Subject") != "kept" || info.Envelope.Subject != "kept" {
					t.Errorf("got Subject %q, %q", h.Get("Subject"), info.Envelope.Subject)
				}
			})
		}
	}
}

// TestParseEnvelopeUnknownCharset checks that an address whose display
// name is in an unknown charset is kept, where go-imap would drop the
// whole list, and that the subject stays encoded for the client.
func TestParseEnvelopeUnknownCharset(t *testing.T) {
	msg := "From: =?x-unknown?q?Bob_B?= <bob@example.com>, ann@example.com\r\nSubject: =?x-unknown?q?hi?=\r\n\r\n"
	info := mustParse(t, []byte(msg))
	want := `(NIL "=?x-unknown?q?hi?=" [{Bob B bob example.com} { ann example.com}] [] [] [] [] [] [] "")`
	if got := formatEnvelope(info.Envelope); got != want {
		t.Errorf("ENVELOPE:\ngot  %s\nwant %s", got, want)
	}
}
