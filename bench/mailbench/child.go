package mailbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a server process started by mailbench, with its output in a
// log file.
type child struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed when the process has been waited for
	err    error         // the Wait error, valid after exited is closed
}

// startChild starts argv with stdout and stderr appended to logPath, in
// its own process group so that stop can end what it leaves behind.
func startChild(name, logPath string, stdin []byte, argv ...string) (*child, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer lf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM and waits up to timeout, then kills the process
// group.
func (c *child) stop(timeout time.Duration) error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return nil
	case <-time.After(timeout):
	}
	syscall.Kill(-c.pid(), syscall.SIGKILL)
	select {
	case <-c.exited:
		return fmt.Errorf("%s did not stop within %v and was killed", c.name, timeout)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) could not be killed", c.name, c.pid())
	}
}

// failed returns an error with the end of the log if the process has
// exited, else nil.
func (c *child) failed() error {
	select {
	case <-c.exited:
		return fmt.Errorf("%s exited (%v); end of %s:\n%s", c.name, c.err, c.log, tail(c.log, 20))
	default:
		return nil
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// run runs a short command with a timeout and returns its combined output.
func run(ctx context.Context, timeout time.Duration, stdin []byte, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// waitFor polls check every 50ms until it returns nil, alive returns an
// error, or timeout passes.
func waitFor(ctx context.Context, what string, timeout time.Duration, alive func() error, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if alive != nil {
			if aerr := alive(); aerr != nil {
				return fmt.Errorf("waiting for %s: %w", what, aerr)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %w", what, timeout, err)
		case <-t.C:
		}
	}
}

// dialable reports whether a TCP connection to addr succeeds.
func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// portFree fails if something already listens on addr.
func portFree(addr string) error {
	if err := dialable(addr); err == nil {
		return fmt.Errorf("%s is already in use: is another instance running?", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe %s: %w", addr, err)
	}
	return nil
}
