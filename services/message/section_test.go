package message

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestSection(t *testing.T) {
	header := imap.PartSpecifierHeader
	tests := []struct {
		msg     string
		section imap.FetchItemBodySection
		want    string
	}{
		{"headers-only.eml", imap.FetchItemBodySection{Specifier: header},
			"From: only@example.com\r\nTo: headers@example.net\r\nSubject: nothing but headers\r\nDate: Sat, 12 Oct 2024 00:00:00 +0000\r\n"},
		{"headers-only.eml", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}, ""},
		{"headers-only.eml", imap.FetchItemBodySection{Part: []int{1}}, ""},
		{"empty.eml", imap.FetchItemBodySection{}, ""},
		{"empty.eml", imap.FetchItemBodySection{Specifier: header, HeaderFields: []string{"Subject"}}, "\r\n"},
		{"simple.eml", imap.FetchItemBodySection{Specifier: header, HeaderFields: []string{"from", "TO", "x-none"}},
			"From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>, carol@example.net\r\n\r\n"},
		{"simple.eml", imap.FetchItemBodySection{Specifier: header, HeaderFields: []string{"X-None"}}, "\r\n"},
		{"simple.eml", imap.FetchItemBodySection{Specifier: header, HeaderFieldsNot: []string{"return-path", "DATE", "from", "to", "cc", "subject", "message-id", "in-reply-to", "mime-version", "content-type"}},
			"Content-Transfer-Encoding: 7bit\r\n\r\n"},
		{"simple.eml", imap.FetchItemBodySection{Part: []int{2}}, ""},
		{"simple.eml", imap.FetchItemBodySection{Part: []int{1, 2}}, ""},
		{"simple.eml", imap.FetchItemBodySection{Part: []int{0}}, ""},
		{"simple.eml", imap.FetchItemBodySection{Part: []int{1, 1}, Partial: &imap.SectionPartial{Offset: 0, Size: 8}}, "Hi Bob,\r"},
		{"simple.eml", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 91, Size: 100}}, "ce\r\n"},
		{"simple.eml", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 95, Size: 100}}, ""},
		{"simple.eml", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 1000, Size: 100}}, ""},
		{"simple.eml", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 3, Size: 0}}, ""},
		{"nested-rfc822.eml", imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME},
			"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"},
		{"nested-rfc822.eml", imap.FetchItemBodySection{Part: []int{2}, Specifier: header, HeaderFields: []string{"SUBJECT"}},
			"Subject: Weekly news\r\n\r\n"},
		{"nested-rfc822.eml", imap.FetchItemBodySection{Part: []int{2, 1}}, "The terrace opens this week."},
		{"nested-rfc822.eml", imap.FetchItemBodySection{Part: []int{2, 2, 1}, Specifier: imap.PartSpecifierMIME},
			"Content-Type: text/html; charset=us-ascii\r\n\r\n"},
		{"nested-rfc822.eml", imap.FetchItemBodySection{Part: []int{2, 3}}, ""},
		{"rfc822-top.eml", imap.FetchItemBodySection{Part: []int{1}, Specifier: header},
			"From: inner@example.com\r\nSubject: the inner one\r\nContent-Type: text/plain\r\n\r\n"},
		{"rfc822-top.eml", imap.FetchItemBodySection{Part: []int{1, 1}}, "Inner body.\r\n"},
		{"digest.eml", imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierText}, "First post body.\r\n"},
		{"digest.eml", imap.FetchItemBodySection{Part: []int{3, 1}}, "Second post body."},
		{"digest.eml", imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME}, "\r\n"},
		{"lf-only.eml", imap.FetchItemBodySection{Part: []int{1}}, "Plain text with LF only.\nSecond line."},
		{"lf-only.eml", imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME}, "Content-Type: text/html\n\n"},
		{"lf-only.eml", imap.FetchItemBodySection{Specifier: header, HeaderFields: []string{"subject"}}, "Subject: bare line feeds\n\r\n"},
		{"encoded-words.eml", imap.FetchItemBodySection{Part: []int{2}, Specifier: header, HeaderFields: []string{"content-disposition"}},
			"Content-Disposition: attachment;\r\n filename*0*=UTF-8''%C3%A9change%20de;\r\n filename*1=\" donn\";\r\n filename*2*=%C3%A9es.txt\r\n\r\n"},
		{"broken-no-separator.eml", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText},
			"This line is the body, there is no separator.\r\nSecond body line.\r\n"},
		{"boundary-prefix.eml", imap.FetchItemBodySection{Part: []int{1, 2}}, "<p>html</p>"},
		{"boundary-prefix.eml", imap.FetchItemBodySection{Part: []int{2}}, "last"},
	}
	for _, tc := range tests {
		s := tc.section
		t.Run(tc.msg+"/"+sectionName(&s), func(t *testing.T) {
			msg := load(t, tc.msg)
			info := mustParse(t, msg)
			r, n, err := Section(bytes.NewReader(msg), info, &s)
			if got := readAllSection(t, r, n, err); string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSectionWhole checks that HEADER and TEXT make up the whole message.
func TestSectionWhole(t *testing.T) {
	for name, msg := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			info := mustParse(t, msg)
			var got []byte
			for _, spec := range []imap.PartSpecifier{imap.PartSpecifierHeader, imap.PartSpecifierText} {
				r, n, err := Section(bytes.NewReader(msg), info, &imap.FetchItemBodySection{Specifier: spec})
				got = append(got, readAllSection(t, r, n, err)...)
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("HEADER+TEXT: got %q, want %q", got, msg)
			}
		})
	}
}

// TestSectionShortStorage checks that a stored message shorter than its
// Info gives an error rather than a short literal.
func TestSectionShortStorage(t *testing.T) {
	msg := load(t, "simple.eml")
	info := mustParse(t, msg)
	r, n, err := Section(bytes.NewReader(msg[:100]), info, &imap.FetchItemBodySection{})
	if err != nil || n != int64(len(msg)) {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want %v", err, io.ErrUnexpectedEOF)
	}
}
