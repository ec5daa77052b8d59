package mailauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"io"
	"strconv"
	"strings"
)

// ARC (RFC 8617) chain validation, as a receiver. The result is reported
// (arc= in Authentication-Results, Verdict.ARC) but changes no DMARC
// action: overriding DMARC for forwarded mail needs a list of trusted
// sealers, which we do not have. We do not seal.

// maxARCInstances is the highest instance RFC 8617 section 4.2.1 allows.
const maxARCInstances = 50

// arcSet is one instance's three fields.
type arcSet struct {
	aar, ams, seal *field
}

// arcCheck carries a chain's validation from the header, through the
// body, to the result.
type arcCheck struct {
	h      *header
	sets   []arcSet // sets[0] is instance 1
	result string   // decided from the header alone, if not ""
	body   *relaxedBody
	hash   hash.Hash
	bh     []byte // the latest AMS's bh=
}

// startARC reads the ARC sets of h and prepares to hash the body for the
// latest ARC-Message-Signature. Write the body to the returned check's
// Writer, then call finish.
func startARC(h *header) *arcCheck {
	c := &arcCheck{h: h}
	c.sets, c.result = arcSets(h)
	if c.result != "" {
		return c
	}
	tags := parseTags(c.sets[len(c.sets)-1].ams.Value())
	_, bodyCanon, _ := strings.Cut(tags["c"], "/")
	bh, err := base64.StdEncoding.DecodeString(tags["bh"])
	if err != nil || (bodyCanon != "relaxed" && bodyCanon != "simple" && bodyCanon != "") || tags["l"] != "" {
		c.result = "fail"
		return c
	}
	c.bh = bh
	c.hash = sha256.New()
	c.body = &relaxedBody{w: c.hash, simple: bodyCanon != "relaxed"}
	return c
}

// Writer is where the message body goes (io.Discard if the result is
// already known).
func (c *arcCheck) Writer() io.Writer {
	if c.body == nil {
		return io.Discard
	}
	return c.body
}

// arcSets collects the ARC fields by instance and checks the chain's
// shape (RFC 8617 section 5.2 steps 1 to 4). result is "" if the chain
// is worth verifying, else none or fail.
func arcSets(h *header) (sets []arcSet, result string) {
	byInstance := map[int]*arcSet{}
	maxI := 0
	for i := range h.Fields {
		f := &h.Fields[i]
		var slot **field
		var inst int
		switch strings.ToLower(f.Name) {
		case "arc-authentication-results":
			inst = aarInstance(f.Value())
			slot = &set(byInstance, inst).aar
		case "arc-message-signature":
			inst = tagInstance(f.Value())
			slot = &set(byInstance, inst).ams
		case "arc-seal":
			inst = tagInstance(f.Value())
			slot = &set(byInstance, inst).seal
		default:
			continue
		}
		if inst < 1 || inst > maxARCInstances || *slot != nil {
			return nil, "fail" // a bad instance or two fields of a kind
		}
		*slot = f
		maxI = max(maxI, inst)
	}
	if maxI == 0 {
		return nil, "none"
	}
	for i := 1; i <= maxI; i++ {
		s := byInstance[i]
		if s == nil || s.aar == nil || s.ams == nil || s.seal == nil {
			return nil, "fail"
		}
		cv := parseTags(s.seal.Value())["cv"]
		if i == 1 && cv != "none" || i > 1 && cv != "pass" {
			return nil, "fail" // includes a latest seal saying cv=fail
		}
		sets = append(sets, *s)
	}
	return sets, ""
}

func set(m map[int]*arcSet, i int) *arcSet {
	if m[i] == nil {
		m[i] = &arcSet{}
	}
	return m[i]
}

// tagInstance returns the i= of an ARC-Seal or ARC-Message-Signature, or
// 0 if there is none.
func tagInstance(value string) int {
	n, err := strconv.Atoi(parseTags(value)["i"])
	if err != nil {
		return 0
	}
	return n
}

// aarInstance returns the i= that starts an ARC-Authentication-Results
// value ("i=1; mx.example.net; ..."), or 0.
func aarInstance(value string) int {
	first, _, _ := strings.Cut(value, ";")
	k, v, ok := strings.Cut(first, "=")
	if !ok || strings.TrimSpace(k) != "i" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0
	}
	return n
}

// finish verifies the latest ARC-Message-Signature and every ARC-Seal
// (RFC 8617 section 5.2 steps 5 to 8) and returns pass, fail or none. A
// key that cannot be fetched fails the chain too: RFC 8617 has no
// temporary result.
func (c *arcCheck) finish(ctx context.Context, v *Verifier) string {
	if c.result != "" {
		return c.result
	}
	c.body.Close()
	if !bytes.Equal(c.hash.Sum(nil), c.bh) || !v.verifyAMS(ctx, c.h, c.sets[len(c.sets)-1]) {
		return "fail"
	}
	for n := len(c.sets); n >= 1; n-- {
		if !v.verifySeal(ctx, c.sets[:n]) {
			return "fail"
		}
	}
	return "pass"
}

// verifyAMS checks an ARC-Message-Signature's header signature (its body
// hash is checked by finish) as DKIM does (RFC 8617 section 4.1.2).
func (v *Verifier) verifyAMS(ctx context.Context, h *header, s arcSet) bool {
	tags := parseTags(s.ams.Value())
	headerCanon, _, _ := strings.Cut(tags["c"], "/")
	canon := simpleHeader
	switch headerCanon {
	case "relaxed":
		canon = relaxedHeader
	case "simple", "":
	default:
		return false
	}
	names := strings.Split(tags["h"], ":")
	if !hasListItem(tags["h"], "from") {
		return false
	}
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), "arc-") {
			return false // RFC 8617 section 4.1.2: not signable by an AMS
		}
	}
	digest := digestHeader(h, names, s.ams.Raw, canon)
	return v.verifyWithKey(ctx, tags, digest)
}

// verifySeal checks the ARC-Seal of the last of sets, which covers every
// set up to its own (RFC 8617 section 5.1.1), relaxed canonicalization.
func (v *Verifier) verifySeal(ctx context.Context, sets []arcSet) bool {
	last := sets[len(sets)-1]
	tags := parseTags(last.seal.Value())
	if _, ok := tags["h"]; ok {
		return false // section 4.1.3: a seal never has h=
	}
	hash := sha256.New()
	for _, s := range sets[:len(sets)-1] {
		for _, f := range []*field{s.aar, s.ams, s.seal} {
			hash.Write([]byte(relaxedHeader(f.Raw)))
		}
	}
	hash.Write([]byte(relaxedHeader(last.aar.Raw)))
	hash.Write([]byte(relaxedHeader(last.ams.Raw)))
	hash.Write([]byte(strings.TrimRight(relaxedHeader(withoutB(last.seal.Raw)), "\r\n")))
	return v.verifyWithKey(ctx, tags, hash.Sum(nil))
}

// verifyWithKey fetches the key that d= and s= name and checks b= over
// digest with a=.
func (v *Verifier) verifyWithKey(ctx context.Context, tags map[string]string, digest []byte) bool {
	sig, err := base64.StdEncoding.DecodeString(tags["b"])
	if err != nil || tags["d"] == "" || tags["s"] == "" {
		return false
	}
	pub, err := v.lookupKey(ctx, tags["d"], tags["s"])
	if err != nil {
		return false
	}
	return verifySig(tags["a"], pub, digest, sig) == nil
}
