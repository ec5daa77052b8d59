package pop3d

import (
	"bytes"
	"errors"
	"strings"
)

// MaxCommandLine is the longest command line a client may send, in octets,
// including the terminating CRLF (RFC 2449 section 4).
const MaxCommandLine = 255

// Errors from ParseCommand. Their text is what the client sees after "-ERR ".
var (
	ErrEmptyCommand = errors.New("empty command")
	ErrLineTooLong  = errors.New("command line too long")
	ErrBadKeyword   = errors.New("malformed command keyword")
	ErrBadCharacter = errors.New("invalid character in command")
)

// Command is one parsed POP3 command line.
type Command struct {
	// Name is the keyword in upper case, such as "RETR".
	Name string
	// Args are the arguments in their original case; nil if there are
	// none. PASS has at most one argument: the rest of the line, which
	// may contain spaces (RFC 1939 section 7).
	Args []string
}

// String returns the command as sent on the wire, without the CRLF. Beware:
// for PASS and AUTH it contains the credentials.
func (c Command) String() string {
	if len(c.Args) == 0 {
		return c.Name
	}
	return c.Name + " " + strings.Join(c.Args, " ")
}

// ParseCommand parses one command line. A final CRLF or LF is optional and
// not part of the command. The keyword is 1 to 4 ASCII letters (matched
// without regard to case); arguments are separated by spaces, and control
// characters are refused. The 40-octet argument limit of RFC 2449 is not
// enforced: passwords and SASL initial responses are often longer.
func ParseCommand(line []byte) (Command, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line)+2 > MaxCommandLine {
		return Command{}, ErrLineTooLong
	}
	if len(line) == 0 {
		return Command{}, ErrEmptyCommand
	}
	for _, b := range line {
		if b < 0x20 || b == 0x7f {
			return Command{}, ErrBadCharacter
		}
	}
	keyword, rest, hasArgs := bytes.Cut(line, []byte(" "))
	if len(keyword) < 1 || len(keyword) > 4 {
		return Command{}, ErrBadKeyword
	}
	for _, b := range keyword {
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z') {
			return Command{}, ErrBadKeyword
		}
	}
	cmd := Command{Name: strings.ToUpper(string(keyword))}
	if !hasArgs {
		return cmd, nil
	}
	if cmd.Name == "PASS" {
		if len(rest) > 0 {
			cmd.Args = []string{string(rest)}
		}
		return cmd, nil
	}
	for _, f := range bytes.Split(rest, []byte(" ")) {
		if len(f) > 0 {
			cmd.Args = append(cmd.Args, string(f))
		}
	}
	return cmd, nil
}
