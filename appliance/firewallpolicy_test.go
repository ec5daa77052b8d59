package appliance_test

import (
	"slices"
	"testing"

	"facteur/appliance"
	"facteur/appliance/cli"
	"facteur/firewall"
)

// TestFirewallPolicyFollowsSettings: the policy the core writes for the
// firewall role carries the LAN from setup and the admin allow-list, and
// opens the mail services.
func TestFirewallPolicyFollowsSettings(t *testing.T) {
	dir := t.TempDir()
	startCore(t, dir)
	facteur(t, "admin-password-1\n", "setup", "-data", dir, "-domain", "example.test", "-admin", "admin@example.test", "-lan", "10.77.0.0/24")
	facteur(t, "", "firewall", "allow", "-data", dir, "192.0.2.0/24")
	if code := cli.Main([]string{"firewall", "allow", "-data", dir, "not-a-prefix"}, quietEnv()); code == 0 {
		t.Error("a bad prefix was accepted")
	}
	p, err := firewall.ReadPolicy(appliance.FirewallPolicyPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtPrefixes(p.LAN); !slices.Equal(got, []string{"10.77.0.0/24"}) {
		t.Errorf("LAN = %v, want [10.77.0.0/24]", got)
	}
	if got := fmtPrefixes(p.AllowList); !slices.Equal(got, []string{"192.0.2.0/24"}) {
		t.Errorf("allow-list = %v, want [192.0.2.0/24]", got)
	}
	s := p.Services
	if !s.SMTP || !s.Submission || !s.Submissions || !s.IMAPS || !s.POP3S || !s.DNSAuth || !s.DNSRecursive {
		t.Errorf("services = %+v, want the mail services and DNS open", s)
	}
}

func fmtPrefixes[P interface{ String() string }](l []P) []string {
	var out []string
	for _, p := range l {
		out = append(out, p.String())
	}
	return out
}
