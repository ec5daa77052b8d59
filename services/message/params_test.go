package message

import (
	"fmt"
	"testing"
)

func TestParseContentType(t *testing.T) {
	tests := []struct {
		in        string
		wantType  string // "" when invalid
		wantParam string
	}{
		{"text/plain", "text/plain", "NIL"},
		{`TEXT/HTML; CHARSET="UTF-8"`, "text/html", `("charset" "UTF-8")`},
		{"text/plain; charset=us-ascii (Plain text)", "text/plain", `("charset" "us-ascii")`},
		{"text/plain (a (nested) comment) ; charset=x", "text/plain", `("charset" "x")`},
		{" text / plain ;charset = x ", "text/plain", `("charset" "x")`},
		{`multipart/mixed; boundary="a;b=c"`, "multipart/mixed", `("boundary" "a;b=c")`},
		{"multipart/mixed; boundary=foo bar", "multipart/mixed", `("boundary" "foo bar")`},
		{`text/plain; name="esc\"aped"`, "text/plain", `("name" "esc\"aped")`},
		{`text/plain; name="unterminated`, "text/plain", `("name" "unterminated")`},
		{"text/plain; name=file(1).txt", "text/plain", `("name" "file(1).txt")`},
		{"text/plain; x=1; X=2", "text/plain", `("x" "1")`},
		{"text/plain; ; =v; novalue; y=2;", "text/plain", `("y" "2")`},
		{`application/x; name*0="long "; name*1="name.txt"`, "application/x", `("name" "long name.txt")`},
		{`application/x; name*=utf-8'en'%E2%82%AC.txt`, "application/x", `("name" "€.txt")`},
		{`application/x; name*=iso-8859-1''%E9t%E9`, "application/x", `("name" "été")`},
		{`application/x; name*=windows-1252''%93q%94`, "application/x", `("name" "“q”")`},
		{`application/x; name*0*=utf-8''a%20; name*2=c; name*1=b`, "application/x", `("name" "a bc")`},
		{`application/x; name*1=b`, "application/x", "NIL"},
		{`application/x; name*0=a; name*2=c`, "application/x", `("name" "a")`},
		{`application/x; name="plain"; name*=utf-8''ext`, "application/x", `("name" "ext")`},
		{`application/x; name*=x-unknown''%41%zz`, "application/x", `("name" "A%zz")`},
		{`application/x; name*=utf-8'%41`, "application/x", `("name" "utf-8'A")`},
		{`application/x; name*00=a`, "application/x", `("name*00" "a")`},
		{`application/x; name="=?utf-8?q?caf=C3=A9?="`, "application/x", `("name" "café")`},
		{`application/x; name="=?x-unknown?q?caf=E9?="`, "application/x", `("name" "=?x-unknown?q?caf=E9?=")`},
		{"application/x; name=\"\xff\"", "application/x", `("name" "�")`},
		{"text", "", ""},
		{"text/", "", ""},
		{"/plain", "", ""},
		{"te xt/plain", "", ""},
		{"text/plain/extra", "", ""},
		{"text/pl@in", "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			typ, sub, params, ok := parseContentType(tc.in)
			got := typ + "/" + sub
			if !ok {
				got = ""
			}
			if got != tc.wantType {
				t.Fatalf("type: got %q (ok %v), want %q", got, ok, tc.wantType)
			}
			if ok && formatParams(params) != tc.wantParam {
				t.Errorf("params: got %s, want %s", formatParams(params), tc.wantParam)
			}
		})
	}
}

func TestParseDisposition(t *testing.T) {
	tests := []struct{ in, want string }{
		{"attachment; filename=x", `attachment ("filename" "x")`},
		{"Attachment", "attachment NIL"},
		{"inline filename=x", "inline NIL"},
		{"; filename=x", " NIL"},
	}
	for _, tc := range tests {
		d, params := parseDisposition(tc.in)
		if got := d + " " + formatParams(params); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseMIMEFields(t *testing.T) {
	tests := []struct{ in, want string }{
		{" Base64 ", "base64"},
		{"quoted-printable (because)", "quoted-printable"},
		{"7bit;", "7bit"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := parseEncoding(tc.in); got != tc.want {
			t.Errorf("parseEncoding(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := fmt.Sprint(parseLanguages(" en-GB , fr,, (comment)de")); got != "[en-GB fr de]" {
		t.Errorf("parseLanguages: got %s", got)
	}
	if got := parseLanguages(""); got != nil {
		t.Errorf("parseLanguages of nothing: got %v", got)
	}
}

func TestCharsets(t *testing.T) {
	tests := []struct{ label, in, want string }{
		{"UTF-8", "caf\xc3\xa9", "café"},
		{"us-ascii", "plain", "plain"},
		{"", "caf\xe9", "caf\uFFFD"},
		{"ISO-8859-1", "caf\xe9", "café"},
		{"windows-1252", "\x80\x93q\x94", "€“q”"},
		{"iso-8859-15", "\xa4\xbd\xe9", "€œé"},
		{"koi8-r", "\xd0\xd2\xc9\xd7\xc5\xd4", "привет"},
		{"x-unknown", "caf\xc3\xa9 \xff", "café \uFFFD"},
	}
	for _, tc := range tests {
		if got := decodeCharset(tc.label, []byte(tc.in)); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.label, tc.in, got, tc.want)
		}
	}
}

func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=?utf-8?b?w6k=?=", "é"},
		{"=?windows-1252?q?=93q=94?= and =?ISO-8859-15?Q?=A4?=", "“q” and €"},
		{"=?koi8-r?b?0NLJ18XU?=", "привет"},
		{"=?x-unknown?q?abc?=", "=?x-unknown?q?abc?="},
		{"=?utf-8?x?bad?=", "=?utf-8?x?bad?="},
	}
	for _, tc := range tests {
		if got := decodeWords(tc.in); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
