package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestRoleAddsConnectedNetworks: with LANConnected the box's own networks
// join the LAN, and a new address (a DHCP lease) is applied without a new
// policy file.
func TestRoleAddsConnectedNetworks(t *testing.T) {
	p := office(t)
	p.LANConnected = true
	o := roleOptions(t, p)
	o.DryRun = true
	var mu sync.Mutex
	nets := []netip.Prefix{netip.MustParsePrefix("192.168.7.0/24")}
	o.Connected = func() []netip.Prefix { mu.Lock(); defer mu.Unlock(); return slices.Clone(nets) }
	r := startRole(t, o)
	want := p
	want.LAN = append(slices.Clone(p.LAN), nets...)
	waitShow(t, r, Render(want))
	if !strings.Contains(Render(want), "192.168.7.0/24") {
		t.Fatal("the rendered ruleset does not name the connected network")
	}

	mu.Lock()
	nets = append(nets, netip.MustParsePrefix("fd00:7::/64"))
	mu.Unlock()
	want.LAN = append(slices.Clone(p.LAN), netip.MustParsePrefix("192.168.7.0/24"), netip.MustParsePrefix("fd00:7::/64"))
	waitShow(t, r, Render(want))
}

// TestNoLogLeavesOutTheLogRule: the fallback for a kernel without a
// syslog packet logger drops only the log rule.
func TestNoLogLeavesOutTheLogRule(t *testing.T) {
	p := office(t)
	with := Render(p)
	p.noLog = true
	without := Render(p)
	if !strings.Contains(with, "log prefix") || strings.Contains(without, "log prefix") {
		t.Fatalf("log rule: with %v, without %v", strings.Contains(with, "log prefix"), strings.Contains(without, "log prefix"))
	}
	if !strings.Contains(without, `counter name "dropped" drop`) {
		t.Errorf("the drop rule went too:\n%s", without)
	}
}
