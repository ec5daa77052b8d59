package smtpd

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var bodyTests = []struct {
	name string
	in   string
	ok   bool
}{
	{"empty", "", true},
	{"CRLF lines", "a\r\nb\r\n", true},
	{"no final CRLF", "a\r\nb", true},
	{"blank lines", "\r\n\r\n\r\n", true},
	{"8bit", "caf\xc3\xa9\r\n", true},
	{"bare LF", "a\nb\r\n", false},
	{"leading LF", "\na\r\n", false},
	{"lone CR", "a\rb\r\n", false},
	{"CR at end", "a\r", false},
	{"CR CR LF", "a\r\r\n", false},
	{"LF CR", "a\n\r", false},
	{"LF.LF", "a\r\n\n.\nMAIL FROM:<x@y>\r\n", false},
	{"CR.CR", "a\r.\rMAIL FROM:<x@y>\r\n", false},
	{"CRLF.LF", "a\r\n.\nMAIL FROM:<x@y>\r\n", false},
	{"LF.CRLF", "a\n.\r\nMAIL FROM:<x@y>\r\n", false},
}

func TestBodyChecker(t *testing.T) {
	for _, tt := range bodyTests {
		for _, size := range []int{1, 2, 3, 4096} {
			out, err := readChecked([]byte(tt.in), size, false)
			switch {
			case tt.ok && (err != nil || string(out) != tt.in):
				t.Errorf("%s, reads of %d: got %q, %v; want %q, nil", tt.name, size, out, err, tt.in)
			case !tt.ok && !errors.Is(err, errBareLFCR):
				t.Errorf("%s, reads of %d: got %q, %v; want errBareLFCR", tt.name, size, out, err)
			}
		}
	}
}

// The checker reads the whole body before failing, so that the session
// stays in step, and fails every later read too.
func TestBodyCheckerDrains(t *testing.T) {
	r := strings.NewReader("a\nb\r\nrest of the message\r\n")
	c := newBodyChecker(r)
	out, err := io.ReadAll(c)
	if string(out) != "a" || !errors.Is(err, errBareLFCR) {
		t.Errorf("got %q, %v; want \"a\", errBareLFCR", out, err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left unread, want 0", r.Len())
	}
	if n, err := c.Read(make([]byte, 10)); n != 0 || !errors.Is(err, errBareLFCR) {
		t.Errorf("Read after failure: %d, %v; want 0, errBareLFCR", n, err)
	}
}

func TestBodyCheckerReadError(t *testing.T) {
	boom := errors.New("boom")
	c := newBodyChecker(io.MultiReader(strings.NewReader("ab\r"), iotest.ErrReader(boom)))
	out, err := io.ReadAll(c)
	if string(out) != "ab" || !errors.Is(err, boom) || !errors.Is(c.Err(), boom) {
		t.Errorf("got %q, %v; want \"ab\", boom", out, err)
	}
}

// readChecked reads in through a bodyChecker with reads of size bytes,
// the source giving one byte at a time if oneByte.
func readChecked(in []byte, size int, oneByte bool) ([]byte, error) {
	var src io.Reader = bytes.NewReader(in)
	if oneByte {
		src = iotest.OneByteReader(src)
	}
	c := newBodyChecker(src)
	buf := make([]byte, size)
	var out []byte
	for range 2*len(in) + 10 { // a checker that returns 0, nil forever fails
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("no progress")
}

// clean reports whether every CR in b is followed by LF and every LF
// follows a CR.
func clean(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return false
		}
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return false
		}
	}
	return true
}

func FuzzBody(f *testing.F) {
	for _, tt := range bodyTests {
		f.Add([]byte(tt.in), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		out, err := readChecked(in, int(size%16)+1, size&0x80 != 0)
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("output %q is not a prefix of the input %q", out, in)
		}
		if !clean(out) {
			t.Fatalf("output %q has a bare LF or lone CR", out)
		}
		switch {
		case err == nil:
			if !clean(in) || !bytes.Equal(out, in) {
				t.Fatalf("accepted %q as %q", in, out)
			}
		case errors.Is(err, errBareLFCR):
			if clean(in) {
				t.Fatalf("refused clean input %q", in)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
