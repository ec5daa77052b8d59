package smtpd

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Data hands the message to the Backend behind a Received header, through
// a bodyChecker. go-smtp calls it for DATA, and for BDAT from a goroutine
// of its own with the chunks arriving through a pipe.
//
// go-smtp has already enforced MaxMessageBytes: its DATA reader fails with
// 552 5.3.4 past the limit, and it refuses a BDAT chunk that would cross it
// (ending our read with an error). Either way Deliver sees a read error.
func (ss *session) Data(r io.Reader) error {
	env := ss.envelope()
	if env == nil || len(env.To) == 0 { // go-smtp checks this first
		return errTemporary
	}
	if !ss.s.beginDelivery() {
		return errShutdown
	}
	defer ss.s.work.Done()

	id := newID()
	env.ID = id
	body := newBodyChecker(deadlineReader{r: r, c: ss.netConn, d: ss.s.opts.ReadTimeout})
	hdr := receivedHeader(receivedInfo{
		Helo:     env.Helo,
		Remote:   env.Remote,
		Hostname: ss.s.opts.Hostname,
		TLS:      ss.tls,
		Auth:     env.Account != "",
		UTF8:     env.UTF8,
		ID:       id,
		To:       env.To,
		Date:     ss.s.opts.Now(),
	})
	err := ss.s.be.Deliver(ss.s.ctx, env, io.MultiReader(strings.NewReader(hdr), body))
	res := dataReply(body, err)
	ss.logMessage(id, env, body, err, res)
	return res
}

// dataReply chooses the reply to a message: the checker's or go-smtp's own
// refusal if the body was refused, a generic temporary failure if the
// connection broke or the Backend failed, success otherwise.
func dataReply(body *bodyChecker, deliverErr error) error {
	if err := body.Err(); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		return errTemporary
	}
	var refusal *Refusal
	if errors.As(deliverErr, &refusal) && body.Done() {
		return reply(550, 5, 7, 1, refusal.Text)
	}
	if deliverErr != nil || !body.Done() {
		return errTemporary
	}
	return nil
}

// logMessage writes the one log line of a transaction.
func (ss *session) logMessage(id string, env *Envelope, body *bodyChecker, deliverErr, res error) {
	log := ss.log.With(
		slog.String("id", id),
		slog.String("helo", env.Helo),
		slog.String("account", env.Account),
		slog.String("from", env.From),
		slog.Int("rcpts", len(env.To)),
		slog.Int64("size", body.Size()))
	bodyErr := body.Err()
	var refusal *smtp.SMTPError
	switch {
	case res == nil:
		log.Info("message delivered")
	case bodyErr != nil && deliverErr == nil:
		log.Error("backend returned success after a read error", slog.Any("err", bodyErr))
	case errors.As(bodyErr, &refusal):
		log.Info("message refused", slog.Int("code", refusal.Code), slog.String("reason", refusal.Message))
	case bodyErr != nil:
		log.Info("message not received", slog.Any("err", bodyErr))
	case deliverErr != nil:
		log.Error("message not delivered", slog.Any("err", deliverErr))
	default:
		log.Error("backend returned before the end of the body")
	}
}

// deadlineReader extends the connection's read deadline before each read,
// so that a big message only has to keep moving, not arrive within one
// ReadTimeout.
type deadlineReader struct {
	r io.Reader
	c net.Conn
	d time.Duration
}

func (r deadlineReader) Read(p []byte) (int, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(r.d))
	return r.r.Read(p)
}
