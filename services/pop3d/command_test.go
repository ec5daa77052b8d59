package pop3d

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		want    Command
		wantErr error
	}{
		{"QUIT", Command{Name: "QUIT"}, nil},
		{"quit\r\n", Command{Name: "QUIT"}, nil},
		{"Stat\n", Command{Name: "STAT"}, nil},
		{"TOP 1 10\r\n", Command{Name: "TOP", Args: []string{"1", "10"}}, nil},
		{"LIST 1 \r\n", Command{Name: "LIST", Args: []string{"1"}}, nil},
		{"LIST  1", Command{Name: "LIST", Args: []string{"1"}}, nil},
		{"LIST ", Command{Name: "LIST"}, nil},
		{"USER Alice", Command{Name: "USER", Args: []string{"Alice"}}, nil},
		{"USER jürgen", Command{Name: "USER", Args: []string{"jürgen"}}, nil},
		{"PASS two  spaces ", Command{Name: "PASS", Args: []string{"two  spaces "}}, nil},
		{"PASS ", Command{Name: "PASS"}, nil},
		{"AUTH PLAIN =", Command{Name: "AUTH", Args: []string{"PLAIN", "="}}, nil},
		{"", Command{}, ErrEmptyCommand},
		{"\r\n", Command{}, ErrEmptyCommand},
		{" QUIT", Command{}, ErrBadKeyword},
		{"QUITS", Command{}, ErrBadKeyword},
		{"T0P 1 1", Command{}, ErrBadKeyword},
		{"USER a\x00b", Command{}, ErrBadCharacter},
		{"USER a\rb", Command{}, ErrBadCharacter},
		{"QUIT\r\r\n", Command{}, ErrBadCharacter},
		{"USER\ta", Command{}, ErrBadCharacter},
		{"USER a\x7f", Command{}, ErrBadCharacter},
		{"USER " + strings.Repeat("a", 248) + "\r\n", Command{Name: "USER", Args: []string{strings.Repeat("a", 248)}}, nil},
		{"USER " + strings.Repeat("a", 249) + "\r\n", Command{}, ErrLineTooLong},
	}
	for _, tc := range tests {
		got, err := ParseCommand([]byte(tc.line))
		if !errors.Is(err, tc.wantErr) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCommand(%q) = %#v, %v; want %#v, %v", tc.line, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCommandString(t *testing.T) {
	for _, tc := range []struct {
		cmd  Command
		want string
	}{
		{Command{Name: "NOOP"}, "NOOP"},
		{Command{Name: "TOP", Args: []string{"1", "5"}}, "TOP 1 5"},
	} {
		if got := tc.cmd.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
