package queue

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func composeTest(t testing.TB, full bool) []byte {
	t.Helper()
	orig := []byte(testMessage)
	msg, err := ComposeDSN(DSNInput{
		Hostname: "mail.local.test", To: "alice@local.test", Now: time.Unix(1_800_000_000, 0),
		Original: bytes.NewReader(orig), OriginalSize: int64(len(orig)), Full: full,
		Report: &Report{ReportingMTA: "mail.local.test", EnvID: "e1", Arrival: time.Unix(1_799_999_000, 0),
			Rcpts: []RcptStatus{{Final: "bob@remote.test", Original: "rfc822;bob@remote.test", Action: "failed",
				Status: "5.1.1", RemoteMTA: "mx.remote.test", Diagnostic: "smtp; 550 5.1.1 no\r\nsuch user"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// The DSN is a well-formed multipart/report (RFC 6522) with three parts.
func TestComposeDSNStructure(t *testing.T) {
	for _, full := range []bool{false, true} {
		msg := composeTest(t, full)
		m, err := mail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
			t.Fatalf("Content-Type %q", m.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(m.Body, params["boundary"])
		var types []string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			types = append(types, p.Header.Get("Content-Type"))
		}
		last := "text/rfc822-headers"
		if full {
			last = "message/rfc822"
		}
		if len(types) != 3 || !strings.HasPrefix(types[0], "text/plain") || types[1] != "message/delivery-status" || types[2] != last {
			t.Errorf("full=%v: parts %q", full, types)
		}
		if full != strings.Contains(string(msg), "Hello Bob.") {
			t.Errorf("full=%v: body returned = %v", full, !full)
		}
		rep, err := ParseReport(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Rcpts[0]
		if rep.EnvID != "e1" || r.Original != "rfc822;bob@remote.test" || r.Diagnostic != "smtp; 550 5.1.1 no  such user" {
			t.Errorf("round trip: %+v %+v", rep, r)
		}
	}
}

func TestParseReportRefusesOthers(t *testing.T) {
	for _, msg := range []string{
		"Subject: x\r\n\r\nbody",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--",
		"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n--x--",
		"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n\r\n--x--",
	} {
		if _, err := ParseReport(strings.NewReader(msg)); err == nil {
			t.Errorf("ParseReport accepted %q", msg)
		}
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add(composeTest(f, false))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; b@c\r\nAction: failed\r\nStatus: 5.0.0\r\n\r\n--x--"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ParseReport(bytes.NewReader(b))
		if err == nil && len(rep.Rcpts) == 0 {
			t.Error("a report without recipients was accepted")
		}
	})
}
