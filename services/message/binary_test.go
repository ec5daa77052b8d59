package message

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestBinary(t *testing.T) {
	pdf := append(bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 12), "%PDF-1.4 fake\n"...)
	tests := []struct {
		msg     string
		part    []int
		partial *imap.SectionPartial
		want    string
	}{
		{"broken-bad-base64.eml", []int{1}, nil, "Hello world!!foobar"},
		{"broken-bad-base64.eml", []int{1}, &imap.SectionPartial{Offset: 6, Size: 5}, "world"},
		{"broken-bad-base64.eml", []int{1}, &imap.SectionPartial{Offset: 19, Size: 5}, ""},
		{"mixed-attachment.eml", []int{2}, nil, string(pdf)},
		{"mixed-attachment.eml", []int{2}, &imap.SectionPartial{Offset: 256 + 65, Size: 3}, "ABC"},
		{"encoded-words.eml", []int{3}, nil, "\x00\x01\x02\x03\x04\x05"},
		{"encoded-words.eml", []int{4}, nil, "\x06\x07\x08\x09"},
		{"encoded-words.eml", []int{1}, nil, "Voil\xe0 le r\xe9sum\xe9 de la r\xe9union.\r\n"},
		{"qp-text.eml", []int{1}, nil, "J'interdis aux marchands de vanter trop leurs marchandises. Car ils se font " +
			"vite pédagogues et t'enseignent comme but ce qui n'est par essence qu'un moyen.\r\n" +
			"Trailing spaces above are dropped; = is an equals sign; = 20 stays.\r\n"},
		{"nested-rfc822.eml", []int{2, 2, 2}, nil, "GIF89a" + string(pdf[:64])},
		{"simple.eml", []int{3}, nil, ""},
		{"rfc822-top.eml", []int{1, 1}, nil, "Inner body.\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.msg+"/"+sectionName(&imap.FetchItemBodySection{Part: tc.part, Partial: tc.partial}), func(t *testing.T) {
			msg := load(t, tc.msg)
			info := mustParse(t, msg)
			r, n, err := Binary(bytes.NewReader(msg), info, tc.part, tc.partial)
			if got := readAllSection(t, r, n, err); string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.partial != nil {
				return
			}
			if size, err := BinarySize(info, tc.part); err != nil || size != int64(len(tc.want)) {
				t.Errorf("BinarySize: got %d, %v, want %d", size, err, len(tc.want))
			}
		})
	}
}

func TestBinaryUnknownEncoding(t *testing.T) {
	msg := load(t, "unknown-cte.eml")
	info := mustParse(t, msg)
	if _, _, err := Binary(bytes.NewReader(msg), info, []int{2}, nil); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("Binary: got %v, want ErrUnknownEncoding", err)
	}
	if _, err := BinarySize(info, []int{2}); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("BinarySize: got %v, want ErrUnknownEncoding", err)
	}
	if _, _, err := Binary(bytes.NewReader(msg), info, []int{1}, nil); err != nil {
		t.Errorf("Binary of the 7bit part: %v", err)
	}
}

// decode runs in through the decoder for enc, written in chunks of the
// given sizes (cycled).
func decode(t *testing.T, enc string, in []byte, chunks ...int) []byte {
	t.Helper()
	var out bytes.Buffer
	dec, ok := newDecoder(enc, &out)
	if !ok {
		t.Fatalf("no decoder for %q", enc)
	}
	for i := 0; len(in) > 0; i++ {
		n := min(chunks[i%len(chunks)], len(in))
		dec.Write(in[:n])
		in = in[n:]
	}
	dec.Close()
	return out.Bytes()
}

func TestDecoders(t *testing.T) {
	tests := []struct{ enc, in, want string }{
		{"base64", "aGVsbG8=", "hello"},
		{"base64", "aGVs\r\nbG8=\r\n", "hello"},
		{"base64", "aGVsbG8", "hello"},
		{"base64", " aG Vs\tbG8 ", "hello"},
		{"base64", "aGk=aGk=", "hihi"},
		{"base64", "a", ""},
		{"base64", "!!!", ""},
		{"quoted-printable", "a=3Db", "a=b"},
		{"quoted-printable", "a=3db", "a=b"},
		{"quoted-printable", "soft=\r\nbreak", "softbreak"},
		{"quoted-printable", "soft=\nbreak", "softbreak"},
		{"quoted-printable", "soft=  \r\nbreak", "softbreak"},
		{"quoted-printable", "trailing  \t\r\nspace", "trailing\r\nspace"},
		{"quoted-printable", "trailing  \nspace", "trailing\nspace"},
		{"quoted-printable", "keep  inner", "keep  inner"},
		{"quoted-printable", "end  ", "end"},
		{"quoted-printable", "end=", "end"},
		{"quoted-printable", "bad=zz", "bad=zz"},
		{"quoted-printable", "bad=Az", "bad=Az"},
		{"quoted-printable", "bad= x", "bad= x"},
		{"quoted-printable", "=A", "=A"},
		{"quoted-printable", "lone\rcr", "lone\rcr"},
		{"7bit", "as is=\r\n", "as is=\r\n"},
		{"", "as is", "as is"},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 2, 3, 1 << 20} {
			if got := decode(t, tc.enc, []byte(tc.in), chunk); string(got) != tc.want {
				t.Errorf("%s %q in chunks of %d: got %q, want %q", tc.enc, tc.in, chunk, got, tc.want)
			}
		}
	}
}

// TestDecodersAgreeWithStdlib compares the decoders with Go's on random
// well-formed encodings, split at random.
func TestDecodersAgreeWithStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		data := make([]byte, rng.IntN(3000))
		for j := range data {
			data[j] = byte(rng.IntN(256))
			if rng.IntN(4) == 0 {
				data[j] = " \t\r\nab="[rng.IntN(7)]
			}
		}
		b64 := []byte(base64.StdEncoding.EncodeToString(data))
		if got := decode(t, "base64", b64, 1+rng.IntN(100)); !bytes.Equal(got, data) {
			t.Fatalf("base64 of %q: got %q", data, got)
		}
		var qp bytes.Buffer
		w := quotedprintable.NewWriter(&qp)
		w.Write(data)
		w.Close()
		want, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(qp.Bytes())))
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(t, "quoted-printable", qp.Bytes(), 1+rng.IntN(100), 1); !bytes.Equal(got, want) {
			t.Fatalf("quoted-printable %q: got %q, want %q", qp.Bytes(), got, want)
		}
	}
}
