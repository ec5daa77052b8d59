package message

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// wellFormed lists the corpus messages on which this package must agree
// with go-imap's in-memory implementation. crlf is false for messages with
// bare LF, whose headers go-imap rewrites with CRLF.
var wellFormed = []struct {
	name string
	crlf bool
}{
	{"simple.eml", true},
	{"alternative.eml", true},
	{"mixed-attachment.eml", true},
	{"nested-rfc822.eml", true},
	{"qp-text.eml", true},
	{"boundary-whitespace.eml", true},
	{"rfc822-top.eml", true},
	{"unknown-cte.eml", true},
	{"lf-only.eml", false},
}

func TestDifferentialBodyStructure(t *testing.T) {
	for _, tc := range wellFormed {
		t.Run(tc.name, func(t *testing.T) {
			msg := load(t, tc.name)
			info := mustParse(t, msg)
			want := formatBS(imapserver.ExtractBodyStructure(bytes.NewReader(msg)))
			if got := formatBS(info.BodyStructure(true)); got != want {
				t.Errorf("BODYSTRUCTURE:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

func TestDifferentialEnvelope(t *testing.T) {
	for _, tc := range wellFormed {
		t.Run(tc.name, func(t *testing.T) {
			msg := load(t, tc.name)
			info := mustParse(t, msg)
			h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
			want := formatEnvelope(imapserver.ExtractEnvelope(h))
			if got := formatEnvelope(info.Envelope); got != want {
				t.Errorf("ENVELOPE:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// sectionsOf returns the BODY[] sections to compare for info: every
// specifier on every part, the top-level ones, missing parts and partials.
func sectionsOf(info *Info) []*imap.FetchItemBodySection {
	fields := []string{"From", "subject", "CONTENT-TYPE", "X-Missing"}
	l := []*imap.FetchItemBodySection{
		{},
		{Specifier: imap.PartSpecifierHeader},
		{Specifier: imap.PartSpecifierText},
		{Specifier: imap.PartSpecifierMIME},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: fields},
		{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: fields},
		{Partial: &imap.SectionPartial{Offset: 10, Size: 20}},
		{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 0, Size: 1 << 20}},
		{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 1 << 20, Size: 10}},
		{Part: []int{42}},
		{Part: []int{1, 42}},
	}
	for _, path := range partPaths(info) {
		for _, spec := range []imap.PartSpecifier{imap.PartSpecifierNone, imap.PartSpecifierHeader, imap.PartSpecifierText, imap.PartSpecifierMIME} {
			l = append(l, &imap.FetchItemBodySection{Part: path, Specifier: spec})
		}
		l = append(l,
			&imap.FetchItemBodySection{Part: path, Specifier: imap.PartSpecifierHeader, HeaderFields: fields},
			&imap.FetchItemBodySection{Part: path, Partial: &imap.SectionPartial{Offset: 3, Size: 7}},
		)
	}
	return l
}

func sectionName(s *imap.FetchItemBodySection) string {
	name := fmt.Sprintf("%v.%s", s.Part, s.Specifier)
	if len(s.HeaderFields) > 0 {
		name += ".FIELDS"
	}
	if len(s.HeaderFieldsNot) > 0 {
		name += ".FIELDS.NOT"
	}
	if s.Partial != nil {
		name += fmt.Sprintf("<%d.%d>", s.Partial.Offset, s.Partial.Size)
	}
	return name
}

func TestDifferentialSection(t *testing.T) {
	for _, tc := range wellFormed {
		msg := load(t, tc.name)
		info := mustParse(t, msg)
		for _, s := range sectionsOf(info) {
			headerish := s.Specifier == imap.PartSpecifierHeader || s.Specifier == imap.PartSpecifierMIME ||
				(s.Specifier == imap.PartSpecifierNone && len(s.Part) == 0)
			if !tc.crlf && headerish {
				continue
			}
			t.Run(tc.name+"/"+sectionName(s), func(t *testing.T) {
				want := imapserver.ExtractBodySection(bytes.NewReader(msg), s)
				r, n, err := Section(bytes.NewReader(msg), info, s)
				got := readAllSection(t, r, n, err)
				if !bytes.Equal(got, want) {
					t.Errorf("got %q\nwant %q", got, want)
				}
			})
		}
	}
}

func TestDifferentialBinary(t *testing.T) {
	for _, tc := range wellFormed {
		msg := load(t, tc.name)
		info := mustParse(t, msg)
		paths := append(partPaths(info), nil, []int{42})
		for _, path := range paths {
			for _, partial := range []*imap.SectionPartial{nil, {Offset: 5, Size: 11}} {
				item := &imap.FetchItemBinarySection{Part: path, Partial: partial}
				t.Run(fmt.Sprintf("%s/%v/%v", tc.name, path, partial), func(t *testing.T) {
					r, n, err := Binary(bytes.NewReader(msg), info, path, partial)
					if err != nil {
						t.Skipf("Binary: %v", err) // checked in TestBinary
					}
					if len(path) == 0 && !tc.crlf {
						t.Skip("go-imap rewrites bare LF in headers")
					}
					got := readAllSection(t, r, n, nil)
					want := imapserver.ExtractBinarySection(bytes.NewReader(msg), item)
					if !bytes.Equal(got, want) {
						t.Errorf("got %q\nwant %q", got, want)
					}
					if partial != nil {
						return
					}
					size, err := BinarySize(info, path)
					if err != nil || size != int64(len(want)) {
						t.Errorf("BinarySize: got %d, %v, want %d", size, err, len(want))
					}
				})
			}
		}
	}
}
