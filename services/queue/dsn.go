package queue

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Report is the machine-readable part of a delivery status notification
// (RFC 3464 section 2): per-message fields, then one block per recipient.
type Report struct {
	ReportingMTA string
	EnvID        string
	Arrival      time.Time
	Rcpts        []RcptStatus
}

// RcptStatus is one recipient's block of a Report.
type RcptStatus struct {
	Final          string // Final-Recipient address
	Original       string // Original-Recipient, "rfc822;addr" as given in ORCPT
	Action         string // failed, delayed, delivered, relayed, expanded
	Status         string // e.g. 5.1.1
	RemoteMTA      string
	Diagnostic     string // "smtp; 550 5.1.1 ..."
	LastAttempt    time.Time
	WillRetryUntil time.Time
}

// DSNInput is what ComposeDSN needs.
type DSNInput struct {
	Hostname     string // ours: Reporting-MTA and the From address's domain
	To           string // the original sender
	Report       *Report
	Now          time.Time
	Original     io.ReaderAt // the original message
	OriginalSize int64
	Full         bool // RET=FULL: return the whole message, not only its header
}

// maxReturned is the largest original returned whole with RET=FULL;
// bigger ones are returned as their header only.
const maxReturned = 10 << 20

// ComposeDSN writes a delivery status notification (RFC 3464) as a
// multipart/report message (RFC 6522): a human-readable part, the
// message/delivery-status part, and the original header
// (text/rfc822-headers) or, for RET=FULL, the whole original
// (message/rfc822). It is sent from the null sender.
func ComposeDSN(in DSNInput) ([]byte, error) {
	var b bytes.Buffer
	boundary := randomToken()
	subject, human := humanText(in)
	hdr := []string{
		"From: Mail Delivery System <MAILER-DAEMON@" + in.Hostname + ">",
		"To: <" + in.To + ">",
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + in.Now.Format(time.RFC1123Z),
		"Message-ID: <" + randomToken() + "@" + in.Hostname + ">",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="` + boundary + `"`,
	}
	b.WriteString(strings.Join(hdr, "\r\n") + "\r\n\r\n")
	b.WriteString("This is a delivery status notification (RFC 3464).\r\n\r\n")
	part := func(ctype string) { fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\n\r\n", boundary, ctype) }
	part("text/plain; charset=utf-8")
	b.WriteString(human)
	part("message/delivery-status")
	writeStatus(&b, in.Report)
	orig, full, err := original(in)
	if err != nil {
		return nil, err
	}
	if full {
		part("message/rfc822")
	} else {
		part("text/rfc822-headers")
	}
	b.Write(orig)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

func humanText(in DSNInput) (subject, text string) {
	var b strings.Builder
	action := in.Report.Rcpts[0].Action
	switch action {
	case "failed":
		subject = "Delivery failed: your message was not delivered"
		b.WriteString("Your message could not be delivered to the recipients below. This is final:\r\nthe mail system will not try again.\r\n\r\n")
	case "delayed":
		subject = "Delivery delayed: your message has not been delivered yet"
		b.WriteString("Your message has not been delivered yet to the recipients below. The mail\r\nsystem keeps trying; you need not send it again. You will be told if it\r\ngives up.\r\n\r\n")
	default:
		subject = "Delivered: your message was handed over"
		b.WriteString("Your message was handed over to the recipients' mail system.\r\n\r\n")
	}
	for _, r := range in.Report.Rcpts {
		fmt.Fprintf(&b, "  %s\r\n", r.Final)
		if r.Diagnostic != "" {
			_, diag, _ := strings.Cut(r.Diagnostic, "; ")
			fmt.Fprintf(&b, "    %s\r\n", diag)
		}
	}
	fmt.Fprintf(&b, "\r\n-- The mail system at %s\r\n", in.Hostname)
	return subject, b.String()
}

// writeStatus writes the message/delivery-status body.
func writeStatus(b *bytes.Buffer, r *Report) {
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(b, "%s: %s\r\n", name, oneLine(value))
		}
	}
	field("Reporting-MTA", "dns; "+r.ReportingMTA)
	field("Original-Envelope-Id", r.EnvID)
	if !r.Arrival.IsZero() {
		field("Arrival-Date", r.Arrival.Format(time.RFC1123Z))
	}
	for _, rc := range r.Rcpts {
		b.WriteString("\r\n")
		if rc.Original != "" {
			field("Original-Recipient", rc.Original)
		}
		field("Final-Recipient", "rfc822; "+rc.Final)
		field("Action", rc.Action)
		field("Status", rc.Status)
		if rc.RemoteMTA != "" {
			field("Remote-MTA", "dns; "+rc.RemoteMTA)
		}
		field("Diagnostic-Code", rc.Diagnostic)
		if !rc.LastAttempt.IsZero() {
			field("Last-Attempt-Date", rc.LastAttempt.Format(time.RFC1123Z))
		}
		if !rc.WillRetryUntil.IsZero() {
			field("Will-Retry-Until", rc.WillRetryUntil.Format(time.RFC1123Z))
		}
	}
}

// oneLine keeps a field value on one line, whatever a remote server said.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	if len(s) > 900 {
		s = s[:900]
	}
	return s
}

// original returns what to attach of the original: the whole message for
// RET=FULL when it is small enough, its header otherwise.
func original(in DSNInput) ([]byte, bool, error) {
	r := io.NewSectionReader(in.Original, 0, in.OriginalSize)
	if in.Full && in.OriginalSize <= maxReturned {
		b, err := io.ReadAll(r)
		return b, true, err
	}
	var b bytes.Buffer
	br := bufio.NewReader(io.LimitReader(r, 256<<10))
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 && (len(line) > 0 || err != nil) {
			return b.Bytes(), false, nil // the blank line ends the header
		}
		b.Write(line)
		if err != nil {
			return b.Bytes(), false, nil
		}
	}
}

func randomToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ParseReport reads a delivery status notification: a multipart/report
// message whose report-type is delivery-status. It returns the report and
// an error for anything else.
func ParseReport(r io.Reader) (*Report, error) {
	msg, err := mail.ReadMessage(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || !strings.EqualFold(params["report-type"], "delivery-status") {
		return nil, errors.New("dsn: not a multipart/report of type delivery-status")
	}
	if params["boundary"] == "" {
		return nil, errors.New("dsn: no boundary")
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, errors.New("dsn: no message/delivery-status part")
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct == "message/delivery-status" || ct == "message/global-delivery-status" {
			return parseStatus(p)
		}
	}
}

// parseStatus reads the blocks of a message/delivery-status body.
func parseStatus(r io.Reader) (*Report, error) {
	tp := textproto.NewReader(bufio.NewReader(io.LimitReader(r, 1<<20)))
	first, err := tp.ReadMIMEHeader()
	if err != nil && len(first) == 0 {
		return nil, fmt.Errorf("dsn: per-message fields: %w", err)
	}
	rep := &Report{
		ReportingMTA: typedValue(first.Get("Reporting-Mta")),
		EnvID:        first.Get("Original-Envelope-Id"),
	}
	rep.Arrival, _ = mail.ParseDate(first.Get("Arrival-Date"))
	for err == nil && len(rep.Rcpts) < 1000 {
		var h textproto.MIMEHeader
		h, err = tp.ReadMIMEHeader()
		if len(h) == 0 {
			continue
		}
		rc := RcptStatus{
			Final: typedValue(h.Get("Final-Recipient")), Original: h.Get("Original-Recipient"),
			Action: strings.ToLower(strings.TrimSpace(h.Get("Action"))), Status: strings.TrimSpace(h.Get("Status")),
			RemoteMTA: typedValue(h.Get("Remote-Mta")), Diagnostic: h.Get("Diagnostic-Code"),
		}
		rc.LastAttempt, _ = mail.ParseDate(h.Get("Last-Attempt-Date"))
		rc.WillRetryUntil, _ = mail.ParseDate(h.Get("Will-Retry-Until"))
		rep.Rcpts = append(rep.Rcpts, rc)
	}
	if len(rep.Rcpts) == 0 {
		return nil, errors.New("dsn: no per-recipient fields")
	}
	return rep, nil
}

// typedValue strips the type of an "rfc822; addr" or "dns; host" field.
func typedValue(v string) string {
	if _, val, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(val)
	}
	return strings.TrimSpace(v)
}
