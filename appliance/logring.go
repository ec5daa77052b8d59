package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// logRing is a slog.Handler that passes every record on to the core's
// handler and keeps the last lines in memory for the web UI's logs page.
// Only the core's own loggers go through it (the dns and firewall roles
// log to their own stderr); the lines are lost on restart.
type logRing struct {
	next    slog.Handler
	buf     *ringBuf
	service string // from a With("service", ...) attribute
	prefix  string // other With attributes, as text
	group   string
}

type ringBuf struct {
	// mu guards lines and pos.
	mu    sync.Mutex
	lines []logLine
	pos   int // next slot once full
	max   int
}

type logLine struct {
	Time    time.Time
	Level   slog.Level
	Service string
	Text    string
}

func newLogRing(next slog.Handler, max int) *logRing {
	return &logRing{next: next, buf: &ringBuf{max: max}}
}

func (h *logRing) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *logRing) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		var b strings.Builder
		b.WriteString(r.Message)
		b.WriteString(h.prefix)
		service := h.service
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "service" && h.group == "" {
				service = a.Value.String()
				return true
			}
			fmt.Fprintf(&b, " %s%s=%v", h.group, a.Key, a.Value)
			return true
		})
		h.buf.add(logLine{Time: r.Time, Level: r.Level, Service: service, Text: b.String()})
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logRing) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.next = h.next.WithAttrs(as)
	for _, a := range as {
		if a.Key == "service" && h.group == "" {
			n.service = a.Value.String()
			continue
		}
		n.prefix += fmt.Sprintf(" %s%s=%v", h.group, a.Key, a.Value)
	}
	return &n
}

func (h *logRing) WithGroup(name string) slog.Handler {
	n := *h
	n.next = h.next.WithGroup(name)
	n.group += name + "."
	return &n
}

func (b *ringBuf) add(l logLine) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) < b.max {
		b.lines = append(b.lines, l)
		return
	}
	b.lines[b.pos] = l
	b.pos = (b.pos + 1) % b.max
}

// recent returns the kept lines, oldest first, of service ("" for all)
// that contain filter (case-insensitive).
func (b *ringBuf) recent(service, filter string) []logLine {
	b.mu.Lock()
	all := append(append([]logLine(nil), b.lines[b.pos:]...), b.lines[:b.pos]...)
	b.mu.Unlock()
	filter = strings.ToLower(filter)
	var out []logLine
	for _, l := range all {
		if service != "" && l.Service != service {
			continue
		}
		if filter != "" && !strings.Contains(strings.ToLower(l.Text), filter) {
			continue
		}
		out = append(out, l)
	}
	return out
}
