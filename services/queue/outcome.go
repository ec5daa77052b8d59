package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"facteur/services/mailstore"
)

// record removes recipients that are done (delivered or failed for good)
// from the entry, after sending the reports their senders asked for.
func (q *Queue) record(ctx context.Context, e *mailstore.QueueEntry, p *Params, done []outcome) {
	if len(done) == 0 {
		return
	}
	var failed, relayed []outcome
	for _, o := range done {
		switch {
		case o.Fail != nil:
			q.log.Warn("delivery failed", "id", e.ID, "rcpt", o.Rcpt, "status", o.Fail.Status, "err", o.Fail.Text)
			if p.wants(o.Rcpt, "FAILURE") {
				failed = append(failed, o)
			}
		default:
			q.log.Info("delivered", "id", e.ID, "rcpt", o.Rcpt)
			if p.wants(o.Rcpt, "SUCCESS") && o.NoDSN {
				relayed = append(relayed, o)
			}
		}
	}
	// Report first, then forget: a crash in between sends a report twice
	// rather than never.
	q.report(ctx, e, p, "failed", failed)
	q.report(ctx, e, p, "relayed", relayed)
	names := make([]string, len(done))
	for i, o := range done {
		names[i] = o.Rcpt
	}
	q.forget(ctx, e.ID, names)
}

// forget removes rcpts from entry id, and the entry once none are left,
// in one write.
func (q *Queue) forget(ctx context.Context, id uint64, rcpts []string) {
	_, err := q.opts.Store.DoneQueueRecipients(ctx, id, rcpts)
	if err != nil && !errors.Is(err, mailstore.ErrNotFound) {
		q.log.Error("update queue entry", "id", id, "err", err)
	}
}

// defer_ schedules the next attempt for the recipients that failed
// temporarily, and warns the sender once the message is late.
func (q *Queue) defer_(ctx context.Context, e *mailstore.QueueEntry, p *Params, temps []outcome) {
	now := q.opts.Now()
	for _, o := range temps {
		q.log.Info("delivery deferred", "id", e.ID, "rcpt", o.Rcpt, "err", o.Fail.Text)
	}
	if !p.Warned && now.Sub(e.Created) >= q.opts.WarnAfter {
		var late []outcome
		for _, o := range temps {
			if p.wants(o.Rcpt, "DELAY") {
				late = append(late, o)
			}
		}
		q.report(ctx, e, p, "delayed", late)
		p.Warned = true
	}
	err := q.opts.Store.UpdateQueueEntry(ctx, e.ID, func(cur *mailstore.QueueEntry) error {
		cur.Attempts++
		cur.NextAttempt = now.Add(q.backoff(cur.Attempts)).UTC()
		cur.LastError = temps[0].Fail.Text
		cur.Extra = p.Marshal()
		return nil
	})
	if err != nil && !errors.Is(err, mailstore.ErrNotFound) {
		q.log.Error("update queue entry", "id", e.ID, "err", err)
	}
}

// expire gives up on an entry that is too old.
func (q *Queue) expire(ctx context.Context, e *mailstore.QueueEntry, p *Params) {
	days := int(q.opts.MaxAge / (24 * time.Hour))
	f := permFail("4.4.7", "gave up after %d days; last error: %s", days, e.LastError)
	if days == 0 {
		f = permFail("4.4.7", "gave up after %s; last error: %s", q.opts.MaxAge, e.LastError)
	}
	q.record(ctx, e, p, failAll(e.To, f))
}

// report sends a delivery status notification of action (failed, delayed,
// relayed) about outs to the sender. A message from the null sender (a
// bounce itself) never gets one.
func (q *Queue) report(ctx context.Context, e *mailstore.QueueEntry, p *Params, action string, outs []outcome) {
	if len(outs) == 0 || e.From == "" || q.opts.Bounce == nil {
		return
	}
	rep := &Report{ReportingMTA: q.opts.Hostname, EnvID: p.EnvID, Arrival: e.Created}
	now := q.opts.Now()
	for _, o := range outs {
		rs := RcptStatus{
			Final: o.Rcpt, Original: p.Rcpts[strings.ToLower(o.Rcpt)].ORcpt,
			Action: action, Status: "2.0.0", LastAttempt: now,
		}
		if o.Fail != nil {
			rs.Status, rs.RemoteMTA = o.Fail.Status, o.Fail.RemoteMTA
			rs.Diagnostic = diagnostic(o.Fail)
			if action == "failed" && !strings.HasPrefix(rs.Status, "5.") {
				rs.Status = "5" + rs.Status[1:]
			}
			if action == "delayed" {
				rs.WillRetryUntil = e.Created.Add(q.opts.MaxAge)
			}
		}
		rep.Rcpts = append(rep.Rcpts, rs)
	}
	msg, err := q.composeFor(e, p, rep, now)
	if err == nil {
		err = q.opts.Bounce(ctx, e.From, msg)
	}
	if err != nil {
		q.log.Error("send delivery report", "id", e.ID, "to", e.From, "action", action, "err", err)
		return
	}
	q.log.Info("delivery report sent", "id", e.ID, "to", e.From, "action", action, "rcpts", len(outs))
}

func diagnostic(f *failure) string {
	if f.SMTP {
		return "smtp; " + f.Text
	}
	return "x-facteur; " + f.Text
}

func (q *Queue) composeFor(e *mailstore.QueueEntry, p *Params, rep *Report, now time.Time) ([]byte, error) {
	body, err := q.opts.Store.OpenBody(e.Body)
	if err != nil {
		return nil, fmt.Errorf("open the original: %w", err)
	}
	defer body.Close()
	return ComposeDSN(DSNInput{
		Hostname: q.opts.Hostname, To: e.From, Report: rep, Now: now,
		Original: body, OriginalSize: body.Size(), Full: strings.EqualFold(p.Ret, "FULL"),
	})
}
