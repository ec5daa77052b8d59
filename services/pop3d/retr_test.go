package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// referenceCopy is what copyMessage should write, computed the simple way:
// split into lines, terminate them with CRLF, dot-stuff, and cut for TOP.
func referenceCopy(msg string, bodyLines int) string {
	if msg == "" {
		return ""
	}
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	msg = strings.TrimSuffix(msg, "\n")
	lines := strings.Split(msg, "\n")
	if strings.HasSuffix(lines[len(lines)-1], "\r") { // a CR at the very end ends the line
		lines[len(lines)-1] = strings.TrimSuffix(lines[len(lines)-1], "\r")
	}
	var b strings.Builder
	header := true
	for _, l := range lines {
		if bodyLines >= 0 && !header {
			if bodyLines == 0 {
				break
			}
			bodyLines--
		}
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(l + "\r\n")
		if l == "" {
			header = false
		}
	}
	return b.String()
}

func runCopy(t *testing.T, msg string, bodyLines, bufSize int) string {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := copyMessage(w, iotest.HalfReader(strings.NewReader(msg)), bodyLines, bufSize); err != nil {
		t.Fatalf("copyMessage(%q): %v", msg, err)
	}
	w.Flush()
	return out.String()
}

func TestCopyMessage(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name, msg string
		bodyLines int
		want      string
	}{
		{"empty", "", -1, ""},
		{"crlf", "A: b\r\n\r\nbody\r\n", -1, "A: b\r\n\r\nbody\r\n"},
		{"bare lf", "A: b\n\nbody\n", -1, "A: b\r\n\r\nbody\r\n"},
		{"no final newline", "A: b\r\n\r\nbody", -1, "A: b\r\n\r\nbody\r\n"},
		{"dot stuffing", ".\r\n..\r\n.x\r\nx.\r\n", -1, "..\r\n...\r\n..x\r\nx.\r\n"},
		{"dot without newline", "a\r\n.", -1, "a\r\n..\r\n"},
		{"bare cr kept", "a\rb\r\n", -1, "a\rb\r\n"},
		{"final cr", "a\r", -1, "a\r\n"},
		{"long line", long + "\r\n." + long + "\r\n", -1, long + "\r\n.." + long + "\r\n"},
		{"top 0", "A: b\r\n\r\none\r\ntwo\r\n", 0, "A: b\r\n\r\n"},
		{"top 1", "A: b\r\n\r\none\r\ntwo\r\n", 1, "A: b\r\n\r\none\r\n"},
		{"top 1 bare lf", "A: b\n\n\none\ntwo\n", 1, "A: b\r\n\r\n\r\n"},
		{"top more", "A: b\r\n\r\none\r\n", 5, "A: b\r\n\r\none\r\n"},
		{"top no body", "A: b\r\nC: d", 0, "A: b\r\nC: d\r\n"},
		{"top long body line", "A: b\r\n\r\n" + long + long + "\r\nsecond\r\n", 1, "A: b\r\n\r\n" + long + long + "\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{16, 17, 4096} {
				if got := runCopy(t, tc.msg, tc.bodyLines, size); got != tc.want {
					t.Errorf("buffer %d: got %q, want %q", size, got, tc.want)
				}
			}
			if got := referenceCopy(tc.msg, tc.bodyLines); got != tc.want {
				t.Errorf("referenceCopy got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCopyMessageRandom compares copyMessage, with buffers so small that
// lines and CRLFs are cut everywhere, with referenceCopy.
func TestCopyMessageRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab.\r\n\n\n")
	for range 5000 {
		msg := make([]byte, rng.IntN(80))
		for i := range msg {
			msg[i] = alphabet[rng.IntN(len(alphabet))]
		}
		checkCopy(t, string(msg), rng.IntN(6)-1)
	}
}

func checkCopy(t *testing.T, msg string, bodyLines int) {
	t.Helper()
	if strings.Contains(strings.ReplaceAll(msg, "\r\n", ""), "\r") {
		// referenceCopy does not know bare CRs: only check the framing.
		out := runCopy(t, msg, bodyLines, 16)
		checkFraming(t, out)
		return
	}
	want := referenceCopy(msg, bodyLines)
	for _, size := range []int{16, 19} {
		if got := runCopy(t, msg, bodyLines, size); got != want {
			t.Fatalf("copyMessage(%q, %d) with buffer %d:\n got %q\nwant %q", msg, bodyLines, size, got, want)
		}
	}
}

// checkFraming checks that out is made of CRLF-terminated lines.
func checkFraming(t *testing.T, out string) {
	t.Helper()
	if out != "" && !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("output %q does not end in CRLF", out)
	}
	if strings.Count(out, "\n") != strings.Count(out, "\r\n") {
		t.Fatalf("output %q has a bare LF", out)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk error") }

func TestCopyMessageReadError(t *testing.T) {
	w := bufio.NewWriter(io.Discard)
	r := io.MultiReader(strings.NewReader("a\r\n"), errReader{})
	if err := copyMessage(w, r, -1, 16); err == nil || !strings.Contains(err.Error(), "disk error") {
		t.Errorf("got %v, want the read error", err)
	}
}

func TestRetrBigMessage(t *testing.T) {
	line := strings.Repeat("y", 998) + "\r\n"
	big := "Subject: big\r\n\r\n" + strings.Repeat(line, 3000) + "." + strings.Repeat("z", 20000) + "\r\n"
	be := newMemBackend()
	be.addUser("alice", "secret", big)
	ts := startServer(t, be, Options{InsecureAuth: true}, false)
	c := dial(t, ts.addr)
	c.check("USER alice", "+OK Send PASS")
	c.cmd("PASS secret")
	c.check("RETR 1", fmt.Sprintf("+OK %d octets", len(big)))
	lines := c.multi()
	if len(lines) != 3003 || lines[3002] != ".."+strings.Repeat("z", 20000) {
		t.Errorf("got %d lines", len(lines))
	}
}
