package message

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
)

// encodingVersion is the version of the stored form of an Info.
const encodingVersion = 1

// Version 1 of the stored form of an Info, read but no longer written, is
// JSON with short keys and empty fields left
// out. Its keys are part of the storage format: never change their meaning,
// bump encodingVersion instead.
type (
	wireInfo struct {
		V    int           `json:"v"`
		Size int64         `json:"s"`
		Env  *wireEnvelope `json:"e,omitempty"`
		Root *wirePart     `json:"r"`
	}
	wirePart struct {
		H        int64             `json:"h"`
		B        int64             `json:"b"`
		E        int64             `json:"e"`
		Type     string            `json:"t"`
		Subtype  string            `json:"st"`
		Params   map[string]string `json:"p,omitempty"`
		ID       string            `json:"id,omitempty"`
		Desc     string            `json:"de,omitempty"`
		Enc      string            `json:"en,omitempty"`
		MD5      string            `json:"md5,omitempty"`
		Loc      string            `json:"loc,omitempty"`
		Disp     string            `json:"d,omitempty"`
		DispP    map[string]string `json:"dp,omitempty"`
		Lang     []string          `json:"la,omitempty"`
		Lines    int64             `json:"l,omitempty"`
		Decoded  int64             `json:"ds,omitempty"`
		Children []*wirePart       `json:"c,omitempty"`
		Message  *wirePart         `json:"m,omitempty"`
		Env      *wireEnvelope     `json:"env,omitempty"`
	}
	wireEnvelope struct {
		Date      time.Time     `json:"d,omitzero"`
		Subject   string        `json:"s,omitempty"`
		From      []wireAddress `json:"f,omitempty"`
		Sender    []wireAddress `json:"se,omitempty"`
		ReplyTo   []wireAddress `json:"rt,omitempty"`
		To        []wireAddress `json:"t,omitempty"`
		Cc        []wireAddress `json:"cc,omitempty"`
		Bcc       []wireAddress `json:"bcc,omitempty"`
		InReplyTo []string      `json:"irt,omitempty"`
		MessageID string        `json:"id,omitempty"`
	}
	wireAddress struct {
		Name    string `json:"n,omitempty"`
		Mailbox string `json:"m,omitempty"`
		Host    string `json:"h,omitempty"`
	}
)

// Marshal encodes i for storage. The encoding is stable: the same Info
// always gives the same bytes.
func (i *Info) Marshal() ([]byte, error) {
	return marshalBinary(i), nil
}

// marshalJSON is the version 1 form, kept to test that it is still read.
func (i *Info) marshalJSON() ([]byte, error) {
	w := wireInfo{V: encodingVersion, Size: i.Size, Env: toWireEnvelope(i.Envelope), Root: toWirePart(i.Root)}
	b, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("marshal message info: %w", err)
	}
	return b, nil
}

// Unmarshal decodes an Info encoded by Marshal and checks that it is
// consistent, so that the functions of this package can trust it.
func Unmarshal(b []byte) (*Info, error) {
	if len(b) > 0 && b[0] == binaryVersion {
		i, err := unmarshalBinary(b)
		if err == nil {
			err = i.check()
		}
		if err != nil {
			return nil, fmt.Errorf("unmarshal message info: %w", err)
		}
		return i, nil
	}
	var w wireInfo
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("unmarshal message info: %w", err)
	}
	if w.V != encodingVersion {
		return nil, fmt.Errorf("unmarshal message info: unknown version %d", w.V)
	}
	if w.Root == nil {
		return nil, errors.New("unmarshal message info: no root part")
	}
	i := &Info{Size: w.Size, Envelope: fromWireEnvelope(w.Env), Root: fromWirePart(w.Root)}
	if i.Envelope == nil {
		i.Envelope = &imap.Envelope{}
	}
	if err := i.check(); err != nil {
		return nil, fmt.Errorf("unmarshal message info: %w", err)
	}
	return i, nil
}

func toWirePart(p *Part) *wirePart {
	w := &wirePart{
		H: p.HeaderStart, B: p.BodyStart, E: p.End,
		Type: p.Type, Subtype: p.Subtype, Params: p.Params,
		ID: p.ID, Desc: p.Description, Enc: p.Encoding, MD5: p.MD5, Loc: p.Location,
		Disp: p.Disposition, DispP: p.DispositionParams, Lang: p.Language,
		Lines: p.Lines, Decoded: p.DecodedSize, Env: toWireEnvelope(p.Envelope),
	}
	for _, c := range p.Children {
		w.Children = append(w.Children, toWirePart(c))
	}
	if p.Message != nil {
		w.Message = toWirePart(p.Message)
	}
	return w
}

func fromWirePart(w *wirePart) *Part {
	p := &Part{
		HeaderStart: w.H, BodyStart: w.B, End: w.E,
		Type: w.Type, Subtype: w.Subtype, Params: w.Params,
		ID: w.ID, Description: w.Desc, Encoding: w.Enc, MD5: w.MD5, Location: w.Loc,
		Disposition: w.Disp, DispositionParams: w.DispP, Language: w.Lang,
		Lines: w.Lines, DecodedSize: w.Decoded, Envelope: fromWireEnvelope(w.Env),
	}
	for _, c := range w.Children {
		if c != nil {
			p.Children = append(p.Children, fromWirePart(c))
		}
	}
	if w.Message != nil {
		p.Message = fromWirePart(w.Message)
		if p.Envelope == nil {
			p.Envelope = &imap.Envelope{}
		}
	}
	return p
}

func toWireEnvelope(e *imap.Envelope) *wireEnvelope {
	if e == nil {
		return nil
	}
	return &wireEnvelope{
		Date: e.Date, Subject: e.Subject,
		From: toWireAddresses(e.From), Sender: toWireAddresses(e.Sender), ReplyTo: toWireAddresses(e.ReplyTo),
		To: toWireAddresses(e.To), Cc: toWireAddresses(e.Cc), Bcc: toWireAddresses(e.Bcc),
		InReplyTo: e.InReplyTo, MessageID: e.MessageID,
	}
}

func fromWireEnvelope(w *wireEnvelope) *imap.Envelope {
	if w == nil {
		return nil
	}
	return &imap.Envelope{
		Date: w.Date, Subject: w.Subject,
		From: fromWireAddresses(w.From), Sender: fromWireAddresses(w.Sender), ReplyTo: fromWireAddresses(w.ReplyTo),
		To: fromWireAddresses(w.To), Cc: fromWireAddresses(w.Cc), Bcc: fromWireAddresses(w.Bcc),
		InReplyTo: w.InReplyTo, MessageID: w.MessageID,
	}
}

func toWireAddresses(l []imap.Address) []wireAddress {
	var w []wireAddress
	for _, a := range l {
		w = append(w, wireAddress(a))
	}
	return w
}

func fromWireAddresses(w []wireAddress) []imap.Address {
	var l []imap.Address
	for _, a := range w {
		l = append(l, imap.Address(a))
	}
	return l
}

// check verifies that the parts nest and that their offsets are ordered
// and within the message.
func (i *Info) check() error {
	return i.Root.check(0, i.Size, 0)
}

func (p *Part) check(lo, hi int64, depth int) error {
	if depth > 2*MaxDepth+2 {
		return errors.New("parts nest too deep")
	}
	if !(lo <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= hi) {
		return fmt.Errorf("part offsets %d, %d, %d not within [%d, %d]", p.HeaderStart, p.BodyStart, p.End, lo, hi)
	}
	if p.Type == "" || p.Subtype == "" || p.DecodedSize < 0 || p.Lines < 0 {
		return fmt.Errorf("part at %d: invalid type or size", p.HeaderStart)
	}
	if (len(p.Children) > 0 && p.Type != "multipart") || (p.Message != nil && p.Type != "message") {
		return fmt.Errorf("part at %d: %s/%s with parts", p.HeaderStart, p.Type, p.Subtype)
	}
	next := p.BodyStart
	for _, c := range p.Children {
		if err := c.check(next, p.End, depth+1); err != nil {
			return err
		}
		next = c.End
	}
	if p.Message != nil {
		return p.Message.check(p.BodyStart, p.End, depth+1)
	}
	return nil
}
