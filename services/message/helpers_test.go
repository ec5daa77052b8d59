package message

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// corpus returns the messages in testdata, by file name.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	m := make(map[string][]byte)
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(name)] = b
	}
	return m
}

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, msg []byte) *Info {
	t.Helper()
	info, err := Parse(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return info
}

// formatBS renders a body structure like the IMAP BODYSTRUCTURE response,
// for readable comparisons.
func formatBS(bs imap.BodyStructure) string {
	var b strings.Builder
	writeBS(&b, bs)
	return b.String()
}

func writeBS(b *strings.Builder, bs imap.BodyStructure) {
	b.WriteString("(")
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		for _, c := range bs.Children {
			writeBS(b, c)
		}
		fmt.Fprintf(b, " %q", strings.ToLower(bs.Subtype))
		if ext := bs.Extended; ext != nil {
			fmt.Fprintf(b, " %s %s %v %q", formatParams(ext.Params), formatDisp(ext.Disposition), ext.Language, ext.Location)
		}
	case *imap.BodyStructureSinglePart:
		enc := strings.ToLower(bs.Encoding)
		if enc == "" {
			enc = "7bit"
		}
		fmt.Fprintf(b, "%q %q %s %q %q %q %d", strings.ToLower(bs.Type), strings.ToLower(bs.Subtype),
			formatParams(bs.Params), bs.ID, bs.Description, enc, bs.Size)
		if m := bs.MessageRFC822; m != nil {
			fmt.Fprintf(b, " %s ", formatEnvelope(m.Envelope))
			writeBS(b, m.BodyStructure)
			fmt.Fprintf(b, " %d", m.NumLines)
		}
		if bs.Text != nil {
			fmt.Fprintf(b, " %d", bs.Text.NumLines)
		}
		if ext := bs.Extended; ext != nil {
			fmt.Fprintf(b, " %s %v %q", formatDisp(ext.Disposition), ext.Language, ext.Location)
		}
	default:
		fmt.Fprintf(b, "%T", bs)
	}
	b.WriteString(")")
}

func formatParams(m map[string]string) string {
	if len(m) == 0 {
		return "NIL"
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var l []string
	for _, k := range keys {
		l = append(l, fmt.Sprintf("%q %q", k, m[k]))
	}
	return "(" + strings.Join(l, " ") + ")"
}

func formatDisp(d *imap.BodyStructureDisposition) string {
	if d == nil {
		return "NIL"
	}
	return fmt.Sprintf("(%q %s)", d.Value, formatParams(d.Params))
}

func formatEnvelope(e *imap.Envelope) string {
	if e == nil {
		return "NIL"
	}
	date := "NIL"
	if !e.Date.IsZero() {
		date = e.Date.Format("02-Jan-2006 15:04:05 -0700")
	}
	return fmt.Sprintf("(%s %q %v %v %v %v %v %v %q %q)", date, e.Subject, e.From, e.Sender, e.ReplyTo,
		e.To, e.Cc, e.Bcc, e.InReplyTo, e.MessageID)
}

// partPaths returns the IMAP part paths of every part of info, embedded
// messages included.
func partPaths(info *Info) [][]int {
	var out [][]int
	var walk func(p *Part, path []int)
	walk = func(p *Part, path []int) {
		out = append(out, path)
		m := p
		if p.isMessage() {
			m = p.Message
		}
		if !m.isMultipart() {
			if p.isMessage() {
				walk(m, appendPath(path, 1))
			}
			return
		}
		for i, c := range m.Children {
			walk(c, appendPath(path, i+1))
		}
	}
	if info.Root.isMultipart() {
		for i, c := range info.Root.Children {
			walk(c, []int{i + 1})
		}
	} else {
		walk(info.Root, []int{1})
	}
	return out
}

func appendPath(path []int, n int) []int {
	return append(append([]int(nil), path...), n)
}

func readAllSection(t testing.TB, r io.Reader, n int64, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("error: %v", err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if int64(len(b)) != n {
		t.Errorf("got %d bytes, length said %d", len(b), n)
	}
	return b
}
