package firewall

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// table is the facteur table as the nftables package names it.
func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// Apply makes the facteur table what p describes and puts bans in its ban
// sets, in one nftables transaction: either all of it takes effect or, if
// the kernel refuses any part, nothing changes and the previous table stays
// as it was. Other tables are never touched.
func Apply(c *nftables.Conn, p Policy, bans []Ban) error {
	if err := Build(c, p, bans); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("apply firewall policy: %w", err)
	}
	return nil
}

// Build queues on c, without sending anything, the messages that make the
// facteur table what p describes; c.Flush sends them as one transaction.
// If Build fails, c may hold part of the batch: do not Flush it, drop it.
// It reads the table as it is now so that it can keep what must outlive a
// new policy: the ban sets with their elements, and the counters with
// their values. Everything else of the table is replaced:
//
//	add table inet facteur (no-op if it exists)
//	flush table inet facteur (every rule goes)
//	delete the sets other than the ban sets, and chains and counters
//	  that the layout no longer has
//	add counters, sets and chains (existing ones stay as they are)
//	add the rules
//	add bans to the ban sets
func Build(c *nftables.Conn, p Policy, bans []Ban) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("build firewall table: %w", err)
	}
	cur, err := readCurrent(c)
	if err != nil {
		return fmt.Errorf("build firewall table: %w", err)
	}
	def := layout(p)
	t := c.AddTable(table())
	c.FlushTable(t)
	kept := cur.clear(c, def)
	b := &ruleBuilder{c: c, t: t, sets: kept}
	for _, name := range def.counters {
		c.AddObj(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
	}
	for _, s := range def.sets {
		if _, ok := b.sets[s.name]; !ok {
			b.addSet(s)
		}
	}
	// Every chain exists before the first rule, which may jump to any.
	chains := make([]*nftables.Chain, len(def.chains))
	for i, ch := range def.chains {
		chains[i] = b.addChain(ch)
	}
	for i, ch := range def.chains {
		b.addRules(chains[i], ch.rules)
	}
	for _, bn := range bans {
		b.addBan(bn)
	}
	if b.err != nil {
		return fmt.Errorf("build firewall table: %w", b.err)
	}
	return nil
}

// current is what the facteur table holds before a Build.
type current struct {
	chains   []string
	sets     []*nftables.Set
	counters []string
}

// readCurrent lists the facteur table's chains, named sets and counters;
// all are empty if the table does not exist.
func readCurrent(c *nftables.Conn) (current, error) {
	var cur current
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return cur, nil
		}
		return cur, fmt.Errorf("list table: %w", err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return cur, fmt.Errorf("list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name == TableName {
			cur.chains = append(cur.chains, ch.Name)
		}
	}
	sets, err := c.GetSets(table())
	if err != nil {
		return cur, fmt.Errorf("list sets: %w", err)
	}
	for _, s := range sets {
		if !s.Anonymous && !strings.HasPrefix(s.Name, "__") {
			cur.sets = append(cur.sets, s)
		}
	}
	objs, err := c.GetNamedObjects(table())
	if err != nil {
		return cur, fmt.Errorf("list counters: %w", err)
	}
	for _, o := range objs {
		if no, ok := o.(*nftables.NamedObj); ok && no.Type == nftables.ObjTypeCounter {
			cur.counters = append(cur.counters, no.Name)
		}
	}
	return cur, nil
}

// clear queues the deletion of what def does not keep and returns the sets
// that stay: the ban sets, if they have the right type.
func (cur current) clear(c *nftables.Conn, def tableDef) map[string]*nftables.Set {
	t := table()
	kept := map[string]*nftables.Set{}
	for _, s := range cur.sets {
		if keepBanSet(s) {
			kept[s.Name] = s
			continue
		}
		c.DelSet(&nftables.Set{Table: t, Name: s.Name})
	}
	for _, name := range cur.chains {
		if !slices.ContainsFunc(def.chains, func(ch chainDef) bool { return ch.name == name }) {
			c.DelChain(&nftables.Chain{Table: t, Name: name})
		}
	}
	for _, name := range cur.counters {
		if !slices.Contains(def.counters, name) {
			c.DeleteObject(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCounter})
		}
	}
	return kept
}

// keepBanSet reports whether s is a ban set as this version makes them.
func keepBanSet(s *nftables.Set) bool {
	switch s.Name {
	case SetBanned4:
		return s.HasTimeout && s.KeyType.Name == nftables.TypeIPAddr.Name
	case SetBanned6:
		return s.HasTimeout && s.KeyType.Name == nftables.TypeIP6Addr.Name
	}
	return false
}

// ruleBuilder queues a table's sets, chains and rules, and keeps the
// protocol context of the rule it is compiling.
type ruleBuilder struct {
	c    *nftables.Conn
	t    *nftables.Table
	sets map[string]*nftables.Set // the table's named sets, by name
	err  error                    // the first error

	fam, l4 byte // protocols the rule so far has established
}

func (b *ruleBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *ruleBuilder) addSet(d setDef) {
	s := &nftables.Set{Table: b.t, Name: d.name, KeyType: nftables.TypeIPAddr}
	if d.v6 {
		s.KeyType = nftables.TypeIP6Addr
	}
	var elems []nftables.SetElement
	switch d.kind {
	case prefixSet:
		s.Interval = true
		elems = intervalElements(d.elems)
	case banSet:
		s.HasTimeout = true
	case meterSet:
		s.Dynamic, s.HasTimeout, s.Timeout, s.Size = true, true, meterTimeout, meterSize
	}
	if err := b.c.AddSet(s, elems); err != nil {
		b.fail(fmt.Errorf("set %s: %w", d.name, err))
	}
	b.sets[d.name] = s
}

func (b *ruleBuilder) addChain(d chainDef) *nftables.Chain {
	ch := &nftables.Chain{Table: b.t, Name: d.name}
	if d.base {
		policy := nftables.ChainPolicyDrop
		ch.Type = nftables.ChainTypeFilter
		ch.Hooknum = nftables.ChainHookInput
		ch.Priority = nftables.ChainPriorityFilter
		ch.Policy = &policy
	}
	return b.c.AddChain(ch)
}

func (b *ruleBuilder) addRules(ch *nftables.Chain, rules [][]stmt) {
	for _, r := range rules {
		b.fam, b.l4 = 0, 0
		var exprs []expr.Any
		for _, s := range r {
			exprs = append(exprs, s.compile(b)...)
		}
		b.c.AddRule(&nftables.Rule{Table: b.t, Chain: ch, Exprs: exprs})
	}
}

// nfproto returns the dependency on the network protocol, unless the rule
// already has it.
func (b *ruleBuilder) nfproto(fam byte) []expr.Any {
	if b.fam == fam {
		return nil
	}
	b.fam = fam
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
	}
}

// l4proto returns the dependency on the transport protocol, unless the
// rule already has it.
func (b *ruleBuilder) l4proto(proto byte) []expr.Any {
	if b.l4 == proto {
		return nil
	}
	b.l4 = proto
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// set returns a named set of the table.
func (b *ruleBuilder) set(name string) *nftables.Set {
	s, ok := b.sets[name]
	if !ok {
		b.fail(fmt.Errorf("rule refers to unknown set %s", name))
		return &nftables.Set{Name: name}
	}
	return s
}

// lookup matches register 1 against a named set.
func (b *ruleBuilder) lookup(name string) expr.Any {
	s := b.set(name)
	return &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID}
}

// match compares register 1 with one key, or looks it up in an anonymous
// set of several, as nft does for `{ a, b }`.
func (b *ruleBuilder) match(typ nftables.SetDatatype, keys [][]byte) []expr.Any {
	if len(keys) == 1 {
		return []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: keys[0]}}
	}
	s := &nftables.Set{Table: b.t, Anonymous: true, Constant: true, KeyType: typ}
	elems := make([]nftables.SetElement, len(keys))
	for i, k := range keys {
		elems[i] = nftables.SetElement{Key: k}
	}
	if err := b.c.AddSet(s, elems); err != nil {
		b.fail(fmt.Errorf("anonymous set: %w", err))
	}
	return []expr.Any{&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID}}
}

// addBan puts one ban in its set, if it has time left.
func (b *ruleBuilder) addBan(bn Ban) {
	el, ok := banElement(bn.IP, bn.Remaining)
	if !ok {
		return
	}
	if err := b.c.SetAddElements(b.set(banSetName(bn.IP)), []nftables.SetElement{el}); err != nil {
		b.fail(fmt.Errorf("ban %s: %w", bn.IP, err))
	}
}
