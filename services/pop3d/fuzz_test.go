package pop3d

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"QUIT", "user alice\r\n", "PASS  spaced  out ", "TOP 1 10", "LIST  2 ", "AUTH PLAIN =",
		"", " ", "\r\n", "USER a\x00", "NOOPS", "pass", "PASS \r\n", "X\xff y",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := ParseCommand(line)
		if err != nil {
			if cmd.Name != "" || cmd.Args != nil {
				t.Fatalf("error %v with command %#v", err, cmd)
			}
			return
		}
		if len(cmd.Name) < 1 || len(cmd.Name) > 4 || strings.ToUpper(cmd.Name) != cmd.Name ||
			strings.IndexFunc(cmd.Name, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
			t.Fatalf("bad keyword %q", cmd.Name)
		}
		if cmd.Args != nil && len(cmd.Args) == 0 {
			t.Fatal("empty non-nil Args")
		}
		for _, a := range cmd.Args {
			if a == "" || strings.ContainsAny(a, "\r\n\x00") || cmd.Name != "PASS" && strings.Contains(a, " ") {
				t.Fatalf("bad argument %q in %#v", a, cmd)
			}
		}
		// Round trip: the wire form parses to the same command.
		wire := cmd.String()
		if len(wire)+2 > MaxCommandLine {
			t.Fatalf("%q: wire form longer than the input", line)
		}
		for _, again := range []string{wire, wire + "\r\n", wire + "\n"} {
			cmd2, err := ParseCommand([]byte(again))
			if err != nil || !reflect.DeepEqual(cmd, cmd2) {
				t.Fatalf("ParseCommand(%q) = %#v, %v; want %#v", again, cmd2, err, cmd)
			}
		}
	})
}

func FuzzCopyMessage(f *testing.F) {
	f.Add("A: b\r\n\r\n.one\r\ntwo", 1)
	f.Add("A: b\n\n..\n", -1)
	f.Add("a\r\r\n\r", 0)
	f.Fuzz(func(t *testing.T, msg string, bodyLines int) {
		if bodyLines < -1 {
			bodyLines = -1
		}
		checkCopy(t, msg, bodyLines)
	})
}

// duplexConn joins two net.Pipe ends into one server-side conn, so that
// the client can close its writing side and still read the replies.
type duplexConn struct {
	net.Conn          // writes: to the client
	in       net.Conn // reads: from the client
}

func (d duplexConn) Read(p []byte) (int, error) { return d.in.Read(p) }

func (d duplexConn) Close() error { return errors.Join(d.Conn.Close(), d.in.Close()) }

func (d duplexConn) SetDeadline(t time.Time) error {
	return errors.Join(d.Conn.SetDeadline(t), d.in.SetDeadline(t))
}

func (d duplexConn) SetReadDeadline(t time.Time) error { return d.in.SetReadDeadline(t) }

// runSession feeds input to one session and returns all it wrote, and the
// server log.
func runSession(t *testing.T, input []byte) (out []byte, logs string) {
	be := aliceBackend()
	be.addUser("dot", "dot", ".\r\n..\n.x", "", "\n\n.\n")
	var logBuf syncBuffer
	srv := NewServer(be, Options{
		Logger:        slog.New(slog.NewTextHandler(&logBuf, nil)),
		TLSConfig:     serverTLSConfig(),
		InsecureAuth:  true,
		AuthFailDelay: -1,
		IdleTimeout:   5 * time.Second,
	})
	defer srv.Close()
	outServer, outClient := net.Pipe()
	inServer, inClient := net.Pipe()
	defer outClient.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		inClient.Write(input) // fails once the session has ended
		inClient.Close()
	}()
	srv.start(duplexConn{Conn: outServer, in: inServer}, false)
	out, err := io.ReadAll(outClient)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	<-wrote
	return out, logBuf.String()
}

func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"QUIT\r\n",
		"CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 2\r\nTOP 1 1\r\nRETR 2\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
		"AUTH PLAIN\r\n" + plain("", "dot", "dot") + "\r\nRETR 1\r\nRETR 2\r\nTOP 3 0\r\nLIST 9\r\nDELE 1\r\nQUIT\r\n",
		"AUTH PLAIN =\r\nAUTH PLAIN\r\n*\r\nUSER x\r\nPASS y\r\nPASS z\r\n",
		"USER alice\nPASS secret\nRETR 1\nTOP 1 99999999999999999999\nNOOP\n",
		"STLS\r\nUSER alice\r\n",
		"\x00\xff\r\n" + strings.Repeat("A", 300) + "\r\nAUTH",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		out, logs := runSession(t, input)
		if strings.Contains(logs, "panic") {
			t.Fatalf("panic in session:\n%s", logs)
		}
		// After STLS comes TLS, which is not made of lines.
		if i := bytes.Index(out, []byte("+OK Begin TLS negotiation\r\n")); i >= 0 {
			out = out[:i]
		}
		if !bytes.HasPrefix(out, []byte("+OK POP3 server ready\r\n")) {
			t.Fatalf("output does not start with the greeting: %q", out)
		}
		if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) {
			t.Fatalf("output has a line not terminated by CRLF: %q", out)
		}
	})
}

func TestSessionOverPipe(t *testing.T) {
	out, _ := runSession(t, []byte("USER alice\r\nPASS secret\r\nRETR 1\r\nQUIT\r\n"))
	want := "+OK POP3 server ready\r\n+OK Send PASS\r\n+OK Logged in, 2 messages (125 octets)\r\n" +
		"+OK 82 octets\r\n" + strings.Replace(msg1, "\r\n.", "\r\n..", 1) + ".\r\n+OK Bye, 0 messages deleted\r\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
