package firewall

import (
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables/expr"
)

// Names in the facteur table. The table layout is described in the
// package documentation.
const (
	TableName = "facteur"
	// SetBanned4 and SetBanned6 hold the banned addresses.
	SetBanned4 = "banned4"
	SetBanned6 = "banned6"
)

// CounterNames returns the names of the table's counters, one per rule
// class, in the order nft lists them:
//
//	banned       packets dropped because their source is banned
//	invalid      packets conntrack calls invalid, dropped
//	icmp_in      ICMP and ICMPv6 messages accepted
//	ratelimited  new connections over a per-source rate limit, dropped
//	smtp, submission, imap, pop3, dns, web, sieve
//	             new connections (DNS: queries) accepted, per service
//	dropped      everything else that came in, dropped
func CounterNames() []string {
	return []string{
		"banned", "invalid", "icmp_in", "ratelimited",
		"smtp", "submission", "imap", "pop3", "dns", "web", "sieve",
		"dropped",
	}
}

// Meter sets keep one entry per source address for the per-source rate
// limits; an entry goes when its source has been quiet for meterTimeout.
const (
	meterSize    = 65535
	meterTimeout = 10 * time.Minute
)

// logPrefixDrop starts the kernel log line of a dropped packet.
const logPrefixDrop = "facteur drop: "

// tableDef is the table a policy describes. Render prints it, Build sends
// it to the kernel.
type tableDef struct {
	counters []string
	sets     []setDef
	chains   []chainDef
}

type setKind int

const (
	prefixSet setKind = iota // flags interval: LAN and allow-list prefixes
	banSet                   // flags timeout: elements expire in the kernel
	meterSet                 // flags dynamic,timeout: filled by the rules
)

type setDef struct {
	name  string
	v6    bool
	kind  setKind
	elems []netip.Prefix // prefixSet only; sorted and disjoint
}

type chainDef struct {
	name  string
	base  bool // hooked to input, policy drop
	rules [][]stmt
}

// layout turns a policy into the table it describes.
func layout(p Policy) tableDef {
	lim := p.Limits.withDefaults()
	lan4, lan6 := splitPrefixes(p.LAN)
	allow4, allow6 := splitPrefixes(p.AllowList)
	return tableDef{
		counters: CounterNames(),
		sets: []setDef{
			{name: SetBanned4, kind: banSet},
			{name: SetBanned6, v6: true, kind: banSet},
			{name: "lan4", elems: lan4},
			{name: "lan6", v6: true, elems: lan6},
			{name: "allow4", elems: allow4},
			{name: "allow6", v6: true, elems: allow6},
			{name: "smtp_rate4", kind: meterSet},
			{name: "smtp_rate6", v6: true, kind: meterSet},
			{name: "login_rate4", kind: meterSet},
			{name: "login_rate6", v6: true, kind: meterSet},
		},
		chains: []chainDef{
			{name: "input", base: true, rules: inputRules(lim, !p.noLog)},
			{name: "lan", rules: serviceRules(p.Services.classes(fromLAN))},
			{name: "allowlist", rules: serviceRules(p.Services.classes(fromAllowList))},
			{name: "public", rules: publicRules(p.Services, lim)},
		},
	}
}

// inputRules is the base chain: what every host needs, then a jump to the
// chain for the packet's source, then the drop, logged when logDrops.
func inputRules(lim Limits, logDrops bool) [][]stmt {
	ping := limit{rate: lim.PingPerSecond, unit: expr.LimitTimeSecond, burst: 2 * lim.PingPerSecond}
	icmp := counterRef{"icmp_in"}
	rules := [][]stmt{
		{iifLoopback{}, accept},
		// Neighbour discovery comes before the bans: it cannot come from
		// beyond the link (hop limit 255, RFC 4861), and dropping it for
		// one banned address would cut its host's other addresses off.
		{icmpType{true, []uint8{134, 135, 136}}, hopLimit{255}, icmp, accept},
		{saddrInSet{false, SetBanned4}, counterRef{"banned"}, drop},
		{saddrInSet{true, SetBanned6}, counterRef{"banned"}, drop},
		{ctState{ctEstablished | ctRelated}, accept},
		{ctState{ctInvalid}, counterRef{"invalid"}, drop},
		// Errors IPv4 needs, path MTU discovery among them (RFC 1191).
		{icmpType{false, []uint8{3, 11, 12}}, icmp, accept},
		{icmpType{false, []uint8{8}}, ping, icmp, accept},
		// What else IPv6 needs (RFC 4890): errors, packet too big,
		// multicast listener queries from the link.
		{icmpType{true, []uint8{1, 2, 3, 4}}, icmp, accept},
		{saddrIn6Prefix{netip.MustParsePrefix("fe80::/10")}, icmpType{true, []uint8{130}}, icmp, accept},
		{icmpType{true, []uint8{128}}, ping, icmp, accept},
		{saddrInSet{false, "lan4"}, jump("lan")},
		{saddrInSet{true, "lan6"}, jump("lan")},
		{saddrInSet{false, "allow4"}, jump("allowlist")},
		{saddrInSet{true, "allow6"}, jump("allowlist")},
		{jump("public")},
	}
	if logDrops {
		rules = append(rules, []stmt{limit{rate: lim.LogPerMinute, unit: expr.LimitTimeMinute, burst: 2 * lim.LogPerMinute}, logPrefix{logPrefixDrop}})
	}
	return append(rules, []stmt{counterRef{"dropped"}, drop})
}

// publicRules is the chain for everyone outside the LAN and the
// allow-list: per-source rate limits, then the public services.
func publicRules(s Services, lim Limits) [][]stmt {
	var rules [][]stmt
	meterRule := func(ports []uint16, set string, l limit) {
		if len(ports) == 0 {
			return
		}
		for _, v6 := range []bool{false, true} {
			name := set + "4"
			if v6 {
				name = set + "6"
			}
			rules = append(rules, []stmt{dport{protoTCP, ports}, meter{v6, name, l},
				counterRef{"ratelimited"}, drop})
		}
	}
	if s.SMTP {
		meterRule([]uint16{25}, "smtp_rate", limit{rate: lim.SMTPPerMinute,
			unit: expr.LimitTimeMinute, burst: lim.SMTPBurst, over: true})
	}
	meterRule(s.loginPorts(), "login_rate", limit{rate: lim.LoginPerMinute,
		unit: expr.LimitTimeMinute, burst: lim.LoginBurst, over: true})
	return append(rules, serviceRules(s.classes(fromPublic))...)
}

// serviceRules accepts and counts each class of service.
func serviceRules(classes []serviceClass) [][]stmt {
	var rules [][]stmt
	for _, c := range classes {
		rules = append(rules, []stmt{dport{c.proto, c.ports}, counterRef{c.counter}, accept})
	}
	return rules
}

// audience is who a chain serves.
type audience int

const (
	fromPublic audience = iota
	fromAllowList
	fromLAN
)

// A serviceClass is a group of ports that share a counter.
type serviceClass struct {
	counter string
	proto   uint8
	ports   []uint16 // sorted
}

// classes lists the enabled services that an audience may reach.
func (s Services) classes(a audience) []serviceClass {
	var cs []serviceClass
	add := func(counter string, proto uint8, ports ...uint16) {
		if len(ports) > 0 {
			cs = append(cs, serviceClass{counter, proto, ports})
		}
	}
	add("smtp", protoTCP, pick(s.SMTP, 25)...)
	add("submission", protoTCP, append(pick(s.Submissions, 465), pick(s.Submission, 587)...)...)
	add("imap", protoTCP, append(pick(s.IMAP, 143), pick(s.IMAPS, 993)...)...)
	add("pop3", protoTCP, append(pick(s.POP3, 110), pick(s.POP3S, 995)...)...)
	dns := s.DNSAuth || (s.DNSRecursive && a == fromLAN)
	add("dns", protoUDP, pick(dns, 53)...)
	add("dns", protoTCP, pick(dns, 53)...)
	trusted := a != fromPublic
	add("web", protoTCP, pick(s.Web && trusted, 80, 443)...)
	add("sieve", protoTCP, pick(s.ManageSieve && trusted, 4190)...)
	return cs
}

// loginPorts are the enabled ports where users log in, sorted.
func (s Services) loginPorts() []uint16 {
	var ports []uint16
	for _, c := range s.classes(fromPublic) {
		switch c.counter {
		case "submission", "imap", "pop3":
			ports = append(ports, c.ports...)
		}
	}
	slices.Sort(ports)
	return ports
}

func pick(on bool, ports ...uint16) []uint16 {
	if on {
		return ports
	}
	return nil
}
