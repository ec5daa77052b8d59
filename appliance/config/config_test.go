package config

import "testing"

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		ok   bool
	}{
		{"defaults", Settings{}, true},
		{"good", Settings{Hostname: "mail.example.com", PublicIPs: []string{"192.0.2.1", "2001:db8::1"}, LANPrefixes: []string{"10.0.0.0/8"}}, true},
		{"bad host", Settings{Hostname: "mail_example.com"}, false},
		{"bad ip", Settings{PublicIPs: []string{"300.1.1.1"}}, false},
		{"bad prefix", Settings{LANPrefixes: []string{"10.0.0.0"}}, false},
		{"too small", Settings{MaxMessageBytes: 10}, false},
		{"wizard fields", Settings{DNSMode: "external", TimeZone: "Europe/Paris", Network: &Network{Mode: "static", IPv4: "192.168.1.10/24"}}, true},
		{"bad dns mode", Settings{DNSMode: "both"}, false},
		{"bad network mode", Settings{Network: &Network{Mode: "wifi"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Defaults()
			err := tc.s.Validate()
			if got := err == nil; got != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	s := &Settings{Hostname: "mail.example.com", SetupDone: true}
	s.Defaults()
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hostname != s.Hostname || !got.SetupDone || got.MaxMessageBytes != DefaultMaxMessageBytes {
		t.Errorf("Parse(Marshal(s)) = %+v, want %+v", got, s)
	}
	if _, err := Parse([]byte("{")); err == nil {
		t.Error("Parse of broken JSON: got no error")
	}
}
