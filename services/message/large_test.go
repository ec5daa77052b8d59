package message

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// bigMessage is a 50 MB message that exists only as a function of the
// offset: a text part, a base64 attachment of n identical lines, and a
// last text part.
type bigMessage struct {
	head, line, tail []byte
	n                int64
}

var bigPattern = []byte("The quick brown fox jumps over the lazy dog, 57 bytes ..")

func newBigMessage(size int64) *bigMessage {
	m := &bigMessage{
		head: []byte("From: big@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=big\r\n\r\n" +
			"--big\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n" +
			"--big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
		line: []byte(base64.StdEncoding.EncodeToString(bigPattern) + "\r\n"),
		tail: []byte("--big\r\nContent-Type: text/plain\r\n\r\nthe end, with a needle\r\n--big--\r\n"),
	}
	m.n = (size - int64(len(m.head)+len(m.tail))) / int64(len(m.line))
	return m
}

func (m *bigMessage) size() int64 {
	return int64(len(m.head)) + m.n*int64(len(m.line)) + int64(len(m.tail))
}

func (m *bigMessage) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < m.size() {
		var src []byte
		switch body := off - int64(len(m.head)); {
		case body < 0:
			src = m.head[off:]
		case body < m.n*int64(len(m.line)):
			src = m.line[body%int64(len(m.line)):]
		default:
			src = m.tail[body-m.n*int64(len(m.line)):]
		}
		c := copy(p[n:], src)
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// allocated returns how many bytes f allocates and how much the heap in
// use grows.
func allocated(f func()) (total, inuse int64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc), int64(after.HeapInuse) - int64(before.HeapInuse)
}

const memoryBound = 8 << 20

// patternChecker checks that what is written to it is bigPattern repeated.
type patternChecker struct {
	n   int64
	bad bool
}

func (c *patternChecker) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != bigPattern[c.n%int64(len(bigPattern))] {
			c.bad = true
		}
		c.n++
	}
	return len(p), nil
}

func TestLargeMessage(t *testing.T) {
	m := newBigMessage(50 << 20)
	var info *Info
	var err error
	total, inuse := allocated(func() {
		info, err = Parse(bufio.NewReaderSize(io.NewSectionReader(m, 0, m.size()), 32<<10))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Parse of %d bytes: %d bytes allocated, heap in use %+d", m.size(), total, inuse)
	if total > memoryBound || inuse > memoryBound {
		t.Errorf("Parse allocated %d bytes, heap grew by %d: want both under %d", total, inuse, memoryBound)
	}
	if info.Size != m.size() || len(info.Root.Children) != 3 {
		t.Fatalf("got size %d, %d parts, want %d, 3", info.Size, len(info.Root.Children), m.size())
	}
	att := info.Root.Children[1]
	if got, want := att.End-att.BodyStart, m.n*int64(len(m.line))-2; got != want {
		t.Errorf("attachment size: got %d, want %d", got, want)
	}
	if got, want := att.DecodedSize, m.n*int64(len(bigPattern)); got != want {
		t.Errorf("attachment decoded size: got %d, want %d", got, want)
	}

	t.Run("Section", func(t *testing.T) {
		var n int64
		total, _ := allocated(func() {
			r, size, err := Section(m, info, &imap.FetchItemBodySection{Part: []int{2}})
			if err != nil {
				t.Fatal(err)
			}
			n, err = io.CopyBuffer(io.Discard, r, make([]byte, 16<<10))
			if err != nil || n != size {
				t.Errorf("got %d bytes, %v, want %d", n, err, size)
			}
		})
		if total > memoryBound {
			t.Errorf("Section of %d bytes allocated %d bytes, want under %d", n, total, memoryBound)
		}
	})
	t.Run("Binary", func(t *testing.T) {
		var c patternChecker
		total, _ := allocated(func() {
			r, size, err := Binary(m, info, []int{2}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyBuffer(&c, r, make([]byte, 16<<10)); err != nil || c.n != size {
				t.Errorf("got %d bytes, %v, want %d", c.n, err, size)
			}
		})
		if c.bad {
			t.Errorf("decoded attachment differs from what was encoded")
		}
		if total > memoryBound {
			t.Errorf("Binary of %d bytes allocated %d bytes, want under %d", c.n, total, memoryBound)
		}
	})
	t.Run("MatchText", func(t *testing.T) {
		for _, needle := range []string{"NEEDLE", "quick brown"} {
			found, err := MatchText(m, info, needle, true)
			if want := needle == "NEEDLE"; err != nil || found != want {
				t.Errorf("%s: got %v, %v, want %v", needle, found, err, want)
			}
		}
	})
}

// TestLargeTextSearch searches a large text part in bounded memory.
func TestLargeTextSearch(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for b.Len() < 8<<20 {
		fmt.Fprintf(&b, "Line %d: caf=C3=A9 and cr=C3=A8me br=C3=BBl=C3=A9e, nothing to find here.=\r\n", b.Len())
	}
	b.WriteString("the last line has the Crème Brûlée Needle\r\n")
	msg := b.Bytes()
	info := mustParse(t, msg)
	var found bool
	total, _ := allocated(func() {
		found, _ = MatchText(bytes.NewReader(msg), info, "CRÈME BRÛLÉE NEEDLE", true)
	})
	if !found {
		t.Errorf("needle not found")
	}
	if total > memoryBound/8 {
		t.Errorf("MatchText allocated %d bytes, want under %d", total, memoryBound/8)
	}
}
