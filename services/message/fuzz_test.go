package message

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// FuzzParse checks that Parse never fails on a reader that does not, that
// the parts it finds are consistent, and that nothing built on them panics
// or lies about lengths. Crashes found are kept in testdata/fuzz/FuzzParse
// under names that say what they were.
func FuzzParse(f *testing.F) {
	for _, msg := range corpus(f) {
		f.Add(msg)
		f.Add(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	}
	f.Add(nest(6))
	f.Fuzz(func(t *testing.T, msg []byte) {
		info, err := Parse(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if info.Size != int64(len(msg)) {
			t.Fatalf("Size: got %d, want %d", info.Size, len(msg))
		}
		if err := info.check(); err != nil {
			t.Fatalf("inconsistent parts: %v", err)
		}
		checkStructure(t, info.BodyStructure(true), true)
		checkStructure(t, info.BodyStructure(false), false)
		checkMarshal(t, info)
		checkSections(t, msg, info)
		for _, bodyOnly := range []bool{false, true} {
			if _, err := MatchText(bytes.NewReader(msg), info, "é a", bodyOnly); err != nil {
				t.Fatalf("MatchText: %v", err)
			}
		}
		if _, err := Header(bytes.NewReader(msg), info); err != nil {
			t.Fatalf("Header: %v", err)
		}
	})
}

// checkStructure checks what go-imap's writer relies on: multiparts have
// children, embedded messages have an envelope and a structure, extended
// data is there exactly when asked for.
func checkStructure(t *testing.T, bs imap.BodyStructure, extended bool) {
	t.Helper()
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Children) == 0 || (bs.Extended != nil) != extended {
			t.Fatalf("bad multipart: %+v", bs)
		}
		for _, c := range bs.Children {
			checkStructure(t, c, extended)
		}
	case *imap.BodyStructureSinglePart:
		if bs.Type == "" || bs.Subtype == "" || (bs.Extended != nil) != extended {
			t.Fatalf("bad part: %+v", bs)
		}
		if m := bs.MessageRFC822; m != nil {
			if m.Envelope == nil || m.BodyStructure == nil {
				t.Fatalf("bad message part: %+v", m)
			}
			checkStructure(t, m.BodyStructure, extended)
		}
	default:
		t.Fatalf("unexpected %T", bs)
	}
}

func checkMarshal(t *testing.T, info *Info) {
	t.Helper()
	b, err := info.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if again, _ := got.Marshal(); !bytes.Equal(again, b) {
		t.Fatalf("Marshal not stable:\n%s\n%s", b, again)
	}
}

func checkSections(t *testing.T, msg []byte, info *Info) {
	t.Helper()
	ra := bytes.NewReader(msg)
	read := func(what string, r io.Reader, n int64, err error) []byte {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, err := io.ReadAll(r)
		if err != nil || int64(len(b)) != n {
			t.Fatalf("%s: got %d bytes, %v, want %d", what, len(b), err, n)
		}
		return b
	}
	var whole []byte
	for _, spec := range []imap.PartSpecifier{imap.PartSpecifierHeader, imap.PartSpecifierText} {
		r, n, err := Section(ra, info, &imap.FetchItemBodySection{Specifier: spec})
		whole = append(whole, read(string(spec), r, n, err)...)
	}
	if !bytes.Equal(whole, msg) {
		t.Fatalf("HEADER+TEXT is not the message")
	}
	paths := append(partPaths(info), nil, []int{7}, []int{1, 7})
	for _, path := range paths {
		for _, s := range []*imap.FetchItemBodySection{
			{Part: path},
			{Part: path, Specifier: imap.PartSpecifierHeader},
			{Part: path, Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 1, Size: 5}},
			{Part: path, Specifier: imap.PartSpecifierMIME},
			{Part: path, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"content-type"}},
			{Part: path, Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"content-type"}},
		} {
			r, n, err := Section(ra, info, s)
			read(sectionName(s), r, n, err)
		}
		r, n, err := Binary(ra, info, path, nil)
		if errors.Is(err, ErrUnknownEncoding) {
			continue
		}
		read("BINARY", r, n, err)
		if size, err := BinarySize(info, path); err != nil || size != n {
			t.Fatalf("BinarySize %v: got %d, %v, want %d", path, size, err, n)
		}
		r, n, err = Binary(ra, info, path, &imap.SectionPartial{Offset: 2, Size: 3})
		read("BINARY<2.3>", r, n, err)
	}
}
