package smtpd

import (
	"crypto/tls"
	"net"
	"testing"
)

func TestReceivedHeader(t *testing.T) {
	tests := []struct {
		name string
		ri   receivedInfo
		want string
	}{
		{
			name: "MX, IPv4, one recipient",
			ri: receivedInfo{
				Helo: "client.example", Remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4321},
				To: []string{"bob@example.com"},
			},
			want: "Received: from client.example ([192.0.2.1])\r\n" +
				"\tby mx.example.com with ESMTP\r\n" +
				"\tid ID for <bob@example.com>;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n",
		},
		{
			name: "submission, IPv6, TLS, two recipients",
			ri: receivedInfo{
				Helo: "[IPv6:2001:db8::7]", Remote: &net.TCPAddr{IP: net.ParseIP("2001:db8::7"), Port: 1},
				TLS:  &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256},
				Auth: true, To: []string{"a@example.com", "b@example.com"},
			},
			want: "Received: from [IPv6:2001:db8::7] ([IPv6:2001:db8::7])\r\n" +
				"\tby mx.example.com with ESMTPSA (using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n" +
				"\tid ID;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n",
		},
		{
			name: "SMTPUTF8, mapped IPv4, hostile HELO and recipient",
			ri: receivedInfo{
				Helo: "x)\r\nBcc: all", Remote: &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.9")},
				UTF8: true, To: []string{"a\r\nb@example.com"},
			},
			want: "Received: from invalid ([192.0.2.9])\r\n" +
				"\tby mx.example.com with UTF8SMTP\r\n" +
				"\tid ID;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n",
		},
		{
			name: "no HELO, unknown address, UTF-8 recipient",
			ri:   receivedInfo{UTF8: true, To: []string{"jösé@example.com"}},
			want: "Received: from unknown (unknown)\r\n" +
				"\tby mx.example.com with UTF8SMTP\r\n" +
				"\tid ID for <jösé@example.com>;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ri.Hostname = "mx.example.com"
			tt.ri.ID = "ID"
			tt.ri.Date = testNow
			if got := receivedHeader(tt.ri); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestPrintableAddress(t *testing.T) {
	tests := []struct {
		addr string
		utf8 bool
		want bool
	}{
		{"bob@example.com", false, true},
		{"jösé@example.com", false, false},
		{"jösé@example.com", true, true},
		{"a b@example.com", true, false},
		{"a>b@example.com", true, false},
		{"a\u2028b@example.com", true, false},
		{"a\u0085b@example.com", true, false},
		{"a\xffb@example.com", true, false},
	}
	for _, tt := range tests {
		if got := printableAddress(tt.addr, tt.utf8); got != tt.want {
			t.Errorf("printableAddress(%q, %v) = %v, want %v", tt.addr, tt.utf8, got, tt.want)
		}
	}
}
