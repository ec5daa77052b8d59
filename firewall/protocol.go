package firewall

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// The firewall role's socket speaks JSON lines: the client writes one
// Request per line, the role answers each with one Response line.
//
//	{"type":"auth_failure","ip":"203.0.113.9","proto":"imap","user":"bob"}
//	{"ok":true}
//	{"type":"ban","ip":"203.0.113.9","duration":"1h0m0s"}
//	{"ok":true}
//	{"type":"bans"}
//	{"ok":true,"bans":[{"ip":"203.0.113.9","remaining":"59m58.2s"}]}

// Request types. The first three are events the core reports; the rest
// are the admin CLI's requests.
const (
	EventAuthFailure = "auth_failure" // a failed login (IP, Proto, User)
	EventAbuse       = "abuse"        // a protocol abuse (IP, Proto)
	EventScan        = "scan"         // a scanner at closed ports (IP)

	RequestBans     = "bans"     // list the bans in force
	RequestBan      = "ban"      // ban IP for Duration (default DefaultManualBan)
	RequestUnban    = "unban"    // lift IP's ban
	RequestShow     = "show"     // the ruleset, as Render prints it
	RequestCounters = "counters" // the named counters
	RequestReload   = "reload"   // read the policy file now
)

// DefaultManualBan is the length of a ban requested without a duration.
const DefaultManualBan = 24 * time.Hour

// Request is one line sent to the firewall role.
type Request struct {
	Type     string     `json:"type"`
	IP       netip.Addr `json:"ip,omitzero"`
	Proto    string     `json:"proto,omitempty"`
	User     string     `json:"user,omitempty"`
	Duration Duration   `json:"duration,omitempty"`
}

// Response is the role's answer to one Request.
type Response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Banned says that the event just reported got its source banned.
	Banned   bool               `json:"banned,omitempty"`
	Bans     []Ban              `json:"bans,omitempty"`
	Ruleset  string             `json:"ruleset,omitempty"`
	Counters map[string]Counter `json:"counters,omitempty"`
}

// Event is what the core reports about a client.
type Event struct {
	Type  string     // EventAuthFailure, EventAbuse or EventScan
	IP    netip.Addr // the client's address
	Proto string     // "smtp", "imap", "pop3", "sieve", "http"...
	User  string     // the user name tried, if any
}

// ReportTimeout bounds Report from dialling to the answer, so that the core
// never waits long for a firewall role that is down or busy.
const ReportTimeout = 250 * time.Millisecond

// callTimeout bounds Call.
const callTimeout = 10 * time.Second

// Report sends an event to the firewall role listening on socketPath and
// waits at most ReportTimeout for its answer. Callers log the error and go
// on: a firewall role that is down must not hold up mail.
func Report(socketPath string, ev Event) error {
	_, err := roundTrip(socketPath, Request{Type: ev.Type, IP: ev.IP, Proto: ev.Proto, User: ev.User}, ReportTimeout)
	if err != nil {
		return fmt.Errorf("report %s to firewall: %w", ev.Type, err)
	}
	return nil
}

// Call sends an admin request to the firewall role and returns its answer.
// An answer that carries an error is returned as an error too.
func Call(socketPath string, req Request) (Response, error) {
	resp, err := roundTrip(socketPath, req, callTimeout)
	if err != nil {
		return resp, fmt.Errorf("firewall %s: %w", req.Type, err)
	}
	return resp, nil
}

func roundTrip(socketPath string, req Request, timeout time.Duration) (Response, error) {
	var resp Response
	c, err := net.DialTimeout("unix", socketPath, timeout)
	if err != nil {
		return resp, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	b, err := json.Marshal(req)
	if err != nil {
		return resp, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return resp, err
	}
	line, err := bufio.NewReaderSize(c, 4096).ReadBytes('\n')
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return resp, fmt.Errorf("bad answer: %w", err)
	}
	if !resp.OK {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
