package pop3d

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// poplibResult is what testdata/poplib_client.py prints.
type poplibResult struct {
	CapaBeforeTLS []string `json:"capa_before_tls"`
	STLS          string   `json:"stls"`
	Welcome       string   `json:"welcome"`
	Capa          []string `json:"capa"`
	User          string   `json:"user"`
	Pass          string   `json:"pass"`
	Stat          []int64  `json:"stat"`
	List          []string `json:"list"`
	UIDL          []string `json:"uidl"`
	Top           []string `json:"top"`
	RetrResp      string   `json:"retr_resp"`
	Retr          []string `json:"retr"`
	RetrOctets    int64    `json:"retr_octets"`
	Dele          string   `json:"dele"`
	StatAfterDele []int64  `json:"stat_after_dele"`
	Quit          string   `json:"quit"`
}

// TestPythonPoplib checks the server against another implementation of
// the protocol: Python's poplib, over implicit TLS and over STLS.
func TestPythonPoplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	be := aliceBackend()
	be.addUser("carol", "pw", msg1, msg2)
	srv := NewServer(be, Options{TLSConfig: serverTLSConfig(), Hostname: "pop.example.org", AuthFailDelay: -1})
	plainL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- srv.Serve(plainL) }()
	go func() { done <- srv.ServeTLS(tlsL) }()
	defer func() {
		srv.Close()
		for range 2 {
			if err := <-done; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
		}
	}()

	for _, tc := range []struct {
		mode, user, pass string
		l                net.Listener
	}{
		{"ssl", "alice", "secret", tlsL},
		{"stls", "carol", "pw", plainL},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			port := strconv.Itoa(tc.l.Addr().(*net.TCPAddr).Port)
			cmd := exec.CommandContext(ctx, python, "testdata/poplib_client.py", "127.0.0.1", port, tc.mode, tc.user, tc.pass)
			stdout, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("poplib_client.py: %v\n%s", err, ee.Stderr)
				}
				t.Fatal(err)
			}
			var got poplibResult
			if err := json.Unmarshal(stdout, &got); err != nil {
				t.Fatalf("%v in %s", err, stdout)
			}
			want := poplibResult{
				Welcome:       "+OK pop.example.org POP3 server ready",
				Capa:          []string{"AUTH-RESP-CODE", "PIPELINING", "RESP-CODES", "SASL", "TOP", "UIDL", "USER"},
				User:          "+OK Send PASS",
				Pass:          "+OK Logged in, 2 messages (125 octets)",
				Stat:          []int64{2, 125},
				List:          []string{"1 82", "2 43"},
				UIDL:          []string{"1 uid1", "2 uid2"},
				Top:           []string{"From: bob@example.org", "Subject: one", "", "first line"},
				RetrResp:      "+OK 82 octets",
				Retr:          []string{"From: bob@example.org", "Subject: one", "", "first line", ".starts with a dot", "last line"},
				RetrOctets:    82,
				Dele:          "+OK Message 1 deleted",
				StatAfterDele: []int64{1, 43},
				Quit:          "+OK Bye, 1 messages deleted",
			}
			if tc.mode == "stls" {
				want.CapaBeforeTLS = []string{"AUTH-RESP-CODE", "PIPELINING", "RESP-CODES", "STLS", "TOP", "UIDL"}
				want.STLS = "+OK Begin TLS negotiation"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("poplib saw\n%+v\nwant\n%+v", got, want)
			}
			if uids := be.uids(tc.user); !slices.Equal(uids, []string{"uid2"}) {
				t.Errorf("after QUIT the INBOX holds %q, want [uid2]", uids)
			}
		})
	}
}
