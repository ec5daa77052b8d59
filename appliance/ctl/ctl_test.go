package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
)

func TestCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	if err := Call(path, "x", nil, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Call without server: got %v, want ErrNotRunning", err)
	}
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Methods: map[string]Handler{
		"echo": func(ctx context.Context, p json.RawMessage) (any, error) {
			var s string
			err := json.Unmarshal(p, &s)
			return s + "!", err
		},
		"fail": func(ctx context.Context, p json.RawMessage) (any, error) { return nil, errors.New("no such user") },
	}}
	go srv.Serve(l)
	defer srv.Close()

	var got string
	if err := Call(path, "echo", "hi", &got); err != nil || got != "hi!" {
		t.Errorf("echo: got %q, %v; want %q", got, err, "hi!")
	}
	if err := Call(path, "fail", nil, nil); err == nil || err.Error() != "no such user" {
		t.Errorf("fail: got %v, want 'no such user'", err)
	}
	if err := Call(path, "nope", nil, nil); err == nil {
		t.Error("unknown method: got no error")
	}
	if _, err := Listen(path); err == nil {
		t.Error("second Listen on a live socket: got no error")
	}
}
