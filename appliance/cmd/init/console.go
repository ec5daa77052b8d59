package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// showSetupURL copies the core's "open the setup wizard" log line (with its
// one-time token) to the console, the box's screen: gokrazy keeps service
// output in memory only, readable through its unix socket.
func showSetupURL(ctx context.Context) {
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", "/run/gokrazy-http.sock")
		}}}
	shown := map[string]bool{}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://gokrazy/log?path=/user/facteur&stream=stderr", nil)
		if resp, err := c.Do(req); err == nil {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				l := sc.Text()
				if i := strings.Index(l, "url="); i >= 0 && strings.Contains(l, "setup wizard") && !shown[l[i:]] {
					shown[l[i:]] = true
					printConsole("facteur: not set up yet; open the setup wizard at " + strings.Trim(l[i+4:], `"`))
				}
			}
			resp.Body.Close()
		}
		time.Sleep(2 * time.Second)
	}
}

func printConsole(line string) {
	f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(line + "\n")
}
