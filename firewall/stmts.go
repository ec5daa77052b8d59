package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A stmt is one statement of a rule. It knows both how nft lists it (text)
// and which expressions nft would compile it to (compile), so Render and
// Build cannot drift apart: they walk the same statements. compile adds
// the protocol dependencies nft adds (meta nfproto, meta l4proto) unless
// an earlier statement of the rule already established them; nft hides
// exactly those when it lists a rule.
type stmt interface {
	text() string
	compile(b *ruleBuilder) []expr.Any
}

// Protocol numbers used in the dependencies.
const (
	nfprotoIPv4 = unix.NFPROTO_IPV4
	nfprotoIPv6 = unix.NFPROTO_IPV6
	protoICMP   = unix.IPPROTO_ICMP
	protoTCP    = unix.IPPROTO_TCP
	protoUDP    = unix.IPPROTO_UDP
	protoICMPv6 = unix.IPPROTO_ICMPV6
)

// iifLoopback matches packets that came in on lo, which is interface 1 in
// every network namespace.
type iifLoopback struct{}

func (iifLoopback) text() string { return `iif "lo"` }

func (iifLoopback) compile(*ruleBuilder) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(1)},
	}
}

// saddrInSet matches a source address in a named set of addresses.
type saddrInSet struct {
	v6  bool
	set string
}

func (s saddrInSet) text() string { return ipName(s.v6) + " saddr @" + s.set }

func (s saddrInSet) compile(b *ruleBuilder) []expr.Any {
	return append(loadSaddr(b, s.v6), b.lookup(s.set))
}

// loadSaddr loads the source address into register 1.
func loadSaddr(b *ruleBuilder, v6 bool) []expr.Any {
	if v6 {
		return append(b.nfproto(nfprotoIPv6), payload(expr.PayloadBaseNetworkHeader, 8, 16))
	}
	return append(b.nfproto(nfprotoIPv4), payload(expr.PayloadBaseNetworkHeader, 12, 4))
}

// saddrIn6Prefix matches an IPv6 source prefix, as nft compiles it: load
// the address, mask it, compare.
type saddrIn6Prefix struct{ p netip.Prefix }

func (s saddrIn6Prefix) text() string { return "ip6 saddr " + s.p.String() }

func (s saddrIn6Prefix) compile(b *ruleBuilder) []expr.Any {
	mask := make([]byte, 16)
	for i := 0; i < s.p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return append(loadSaddr(b, true),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: mask, Xor: make([]byte, 16)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: s.p.Masked().Addr().AsSlice()},
	)
}

// Conntrack state bits, as the kernel defines them.
const (
	ctInvalid     = 1
	ctEstablished = 2
	ctRelated     = 4
)

// ctState matches a connection in any of the given states.
type ctState struct{ bits uint32 }

func (s ctState) text() string {
	var names []string
	for _, st := range []struct {
		bit  uint32
		name string
	}{{ctInvalid, "invalid"}, {ctEstablished, "established"}, {ctRelated, "related"}} {
		if s.bits&st.bit != 0 {
			names = append(names, st.name)
		}
	}
	return "ct state " + strings.Join(names, ",")
}

func (s ctState) compile(*ruleBuilder) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(s.bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// ICMP and ICMPv6 message types, with the names nft lists them by.
var (
	icmpTypeNames = map[uint8]string{
		3: "destination-unreachable", 8: "echo-request",
		11: "time-exceeded", 12: "parameter-problem",
	}
	icmpv6TypeNames = map[uint8]string{
		1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded",
		4: "parameter-problem", 128: "echo-request", 130: "mld-listener-query",
		134: "nd-router-advert", 135: "nd-neighbor-solicit", 136: "nd-neighbor-advert",
	}
)

// icmpType matches ICMP (or ICMPv6) messages of the given types, which
// must be sorted.
type icmpType struct {
	v6    bool
	types []uint8
}

func (s icmpType) text() string {
	name, names := "icmp", icmpTypeNames
	if s.v6 {
		name, names = "icmpv6", icmpv6TypeNames
	}
	var vals []string
	for _, t := range s.types {
		vals = append(vals, names[t])
	}
	return name + " type " + anonSetText(vals)
}

func (s icmpType) compile(b *ruleBuilder) []expr.Any {
	fam, proto, typ := byte(nfprotoIPv4), byte(protoICMP), nftables.TypeICMPType
	if s.v6 {
		fam, proto, typ = nfprotoIPv6, protoICMPv6, nftables.TypeICMP6Type
	}
	ex := append(b.nfproto(fam), b.l4proto(proto)...)
	ex = append(ex, payload(expr.PayloadBaseTransportHeader, 0, 1))
	keys := make([][]byte, len(s.types))
	for i, t := range s.types {
		keys[i] = []byte{t}
	}
	return append(ex, b.match(typ, keys)...)
}

// hopLimit matches the IPv6 hop limit; neighbour discovery messages must
// carry 255 (RFC 4861), which proves they were not routed.
type hopLimit struct{ n uint8 }

func (s hopLimit) text() string { return "ip6 hoplimit " + strconv.Itoa(int(s.n)) }

func (s hopLimit) compile(b *ruleBuilder) []expr.Any {
	return append(b.nfproto(nfprotoIPv6),
		payload(expr.PayloadBaseNetworkHeader, 7, 1),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{s.n}})
}

// dport matches a TCP or UDP destination port among ports (sorted).
type dport struct {
	proto uint8
	ports []uint16
}

func (s dport) text() string {
	vals := make([]string, len(s.ports))
	for i, p := range s.ports {
		vals[i] = strconv.Itoa(int(p))
	}
	return protoName(s.proto) + " dport " + anonSetText(vals)
}

func (s dport) compile(b *ruleBuilder) []expr.Any {
	ex := append(b.l4proto(s.proto), payload(expr.PayloadBaseTransportHeader, 2, 2))
	keys := make([][]byte, len(s.ports))
	for i, p := range s.ports {
		keys[i] = binaryutil.BigEndian.PutUint16(p)
	}
	return append(ex, b.match(nftables.TypeInetService, keys)...)
}

// limit matches packets within a token-bucket rate (or, with over, beyond it).
type limit struct {
	rate  int
	unit  expr.LimitTime
	burst int
	over  bool
}

func (s limit) text() string {
	var t strings.Builder
	t.WriteString("limit rate ")
	if s.over {
		t.WriteString("over ")
	}
	fmt.Fprintf(&t, "%d/%s", s.rate, unitName(s.unit))
	// nft leaves out its default burst.
	if s.burst != 0 && s.burst != 5 {
		fmt.Fprintf(&t, " burst %d packets", s.burst)
	}
	return t.String()
}

func (s limit) expr() *expr.Limit {
	return &expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(s.rate), Unit: s.unit,
		Burst: uint32(s.burst), Over: s.over}
}

func (s limit) compile(*ruleBuilder) []expr.Any { return []expr.Any{s.expr()} }

func unitName(u expr.LimitTime) string {
	switch u {
	case expr.LimitTimeSecond:
		return "second"
	case expr.LimitTimeMinute:
		return "minute"
	case expr.LimitTimeHour:
		return "hour"
	}
	return "day"
}

// meter keeps one token bucket per source address in a dynamic set and
// matches when the packet's source is over its rate.
type meter struct {
	v6  bool
	set string
	lim limit
}

func (s meter) text() string {
	return fmt.Sprintf("update @%s { %s saddr %s }", s.set, ipName(s.v6), s.lim.text())
}

func (s meter) compile(b *ruleBuilder) []expr.Any {
	set := b.set(s.set)
	return append(loadSaddr(b, s.v6), &expr.Dynset{
		SrcRegKey: 1,
		SetName:   set.Name,
		SetID:     set.ID,
		Operation: unix.NFT_DYNSET_OP_UPDATE,
		Exprs:     []expr.Any{s.lim.expr()},
	})
}

// counterRef counts in a named counter.
type counterRef struct{ name string }

func (s counterRef) text() string { return fmt.Sprintf("counter name %q", s.name) }

func (s counterRef) compile(*ruleBuilder) []expr.Any {
	return []expr.Any{&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: s.name}}
}

// logPrefix logs the packet to the kernel log.
type logPrefix struct{ prefix string }

func (s logPrefix) text() string { return fmt.Sprintf("log prefix %q", s.prefix) }

func (s logPrefix) compile(*ruleBuilder) []expr.Any {
	return []expr.Any{&expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(s.prefix)}}
}

// verdict ends a rule: accept, drop, or jump to a chain.
type verdict struct {
	kind  expr.VerdictKind
	chain string
}

var (
	accept = verdict{kind: expr.VerdictAccept}
	drop   = verdict{kind: expr.VerdictDrop}
)

func jump(chain string) verdict { return verdict{kind: expr.VerdictJump, chain: chain} }

func (s verdict) text() string {
	switch s.kind {
	case expr.VerdictAccept:
		return "accept"
	case expr.VerdictDrop:
		return "drop"
	}
	return "jump " + s.chain
}

func (s verdict) compile(*ruleBuilder) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: s.kind, Chain: s.chain}}
}

func payload(base expr.PayloadBase, offset, n uint32) *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: base, Offset: offset, Len: n}
}

func ipName(v6 bool) string {
	if v6 {
		return "ip6"
	}
	return "ip"
}

func protoName(p uint8) string {
	if p == protoUDP {
		return "udp"
	}
	return "tcp"
}

// anonSetText lists one value alone and several as an anonymous set.
func anonSetText(vals []string) string {
	if len(vals) == 1 {
		return vals[0]
	}
	return "{ " + strings.Join(vals, ", ") + " }"
}
