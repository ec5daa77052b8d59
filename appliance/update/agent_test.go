package update

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// greeter answers every connection with an SMTP banner.
func greeter(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 test ESMTP\r\n"))
			c.Close()
		}
	}()
	return l.Addr().String()
}

func pendingFixture(t *testing.T, running string) (*fixture, *int) {
	f := newFixture(t)
	f.dev.Slot = running
	reboots := 0
	f.dev.Reboot = func() error { reboots++; return nil }
	st := State{Pending: &Pending{Slot: "b", Version: "1.6", Build: 6}}
	if err := st.save(f.dev.Perm); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(f.dev.BootDir, "loader"), 0o755)
	os.WriteFile(filepath.Join(f.dev.BootDir, "loader", "loader.conf"), []byte(LoaderConf("a")), 0o644)
	return f, &reboots
}

func loaderConf(f *fixture) string {
	b, _ := os.ReadFile(filepath.Join(f.dev.BootDir, "loader", "loader.conf"))
	return string(b)
}

func TestHealthyTestBootCommits(t *testing.T) {
	f, reboots := pendingFixture(t, "b")
	a := &Agent{Device: f.dev, Firmware: f.fw, Logf: t.Logf, Health: []HealthCheck{{"SMTP", Greets(greeter(t))}}}
	if err := a.afterBoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := loaderConf(f); got != LoaderConf("b") {
		t.Errorf("loader.conf = %q, want slot b", got)
	}
	st, _ := LoadState(f.dev.Perm)
	if st.Pending != nil || *reboots != 0 || st.History[len(st.History)-1].What != "committed" {
		t.Errorf("state %+v, %d reboots", st, *reboots)
	}
}

func TestUnhealthyTestBootReboots(t *testing.T) {
	f, reboots := pendingFixture(t, "b")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	a := &Agent{Device: f.dev, Firmware: f.fw, Logf: t.Logf, Health: []HealthCheck{{"SMTP", Greets(dead)}}, HealthTimeout: 3 * time.Second}
	a.afterBoot(context.Background())
	if *reboots != 1 {
		t.Errorf("%d reboots, want 1", *reboots)
	}
	if got := loaderConf(f); got != LoaderConf("a") {
		t.Errorf("loader.conf = %q: committed a failed slot", got)
	}
	// Back on slot a: the rollback is recorded and build 6 is not offered again.
	f.dev.Slot = "a"
	if err := a.afterBoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ := LoadState(f.dev.Perm)
	if st.Pending != nil || !st.rolledBack(6) || st.History[len(st.History)-1].What != "rolled back" {
		t.Errorf("state after rollback: %+v", st)
	}
}
