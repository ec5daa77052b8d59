package appliance

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"facteur/services/queue"
	"facteur/services/smtpd"
)

// successReports sends the "delivered" notifications (RFC 3461 section
// 6.2.2) that senders asked for with NOTIFY=SUCCESS, for recipients whose
// mailbox is here. body is the message as stored.
func (b *smtpBackend) successReports(ctx context.Context, env *smtpd.Envelope, local []string, body []byte, log *slog.Logger) {
	if env.From == "" || b.bounce == nil {
		return
	}
	rep := &queue.Report{ReportingMTA: b.hostname, EnvID: env.EnvID, Arrival: b.now()}
	for i, rcpt := range env.To {
		if i >= len(env.Rcpts) || !slices.Contains(env.Rcpts[i].Notify, "SUCCESS") || !slices.Contains(local, rcpt) {
			continue
		}
		rep.Rcpts = append(rep.Rcpts, queue.RcptStatus{
			Final: rcpt, Original: env.Rcpts[i].ORcpt, Action: "delivered", Status: "2.0.0", LastAttempt: b.now(),
		})
	}
	if len(rep.Rcpts) == 0 {
		return
	}
	msg, err := queue.ComposeDSN(queue.DSNInput{
		Hostname: b.hostname, To: env.From, Report: rep, Now: time.Now(),
		Original: bytes.NewReader(body), OriginalSize: int64(len(body)), Full: strings.EqualFold(env.Ret, "FULL"),
	})
	if err == nil {
		err = b.bounce(ctx, env.From, msg)
	}
	if err != nil {
		log.Error("send delivery report", "to", env.From, "err", err)
	}
}

func wantsSuccess(env *smtpd.Envelope) bool {
	for _, r := range env.Rcpts {
		if slices.Contains(r.Notify, "SUCCESS") {
			return env.From != ""
		}
	}
	return false
}

// headCapture keeps the start of a message (its header, and the whole of a
// small one) for a delivery report.
type headCapture struct {
	buf  []byte
	full bool // more was written than kept
}

const headCaptureMax = 1 << 20

func (h *headCapture) Write(p []byte) (int, error) {
	room := headCaptureMax - len(h.buf)
	if len(p) > room {
		h.full = true
		h.buf = append(h.buf, p[:max(room, 0)]...)
	} else {
		h.buf = append(h.buf, p...)
	}
	return len(p), nil
}

// bytes returns what was kept: the whole message, or (when it was too big)
// its header alone.
func (h *headCapture) bytes() []byte {
	if !h.full {
		return h.buf
	}
	if i := bytes.Index(h.buf, []byte("\r\n\r\n")); i >= 0 {
		return h.buf[:i+4]
	}
	return h.buf
}
