package message

import (
	"math"

	"github.com/emersion/go-imap/v2"
)

// BodyStructure returns the message's BODY (extended false) or
// BODYSTRUCTURE (extended true), RFC 3501 §7.4.2. Sizes are the octets of
// the bodies as stored; line counts are given for text/* and message/rfc822.
func (i *Info) BodyStructure(extended bool) imap.BodyStructure {
	return i.Root.structure(extended)
}

func (p *Part) structure(extended bool) imap.BodyStructure {
	if p.isMultipart() {
		return p.multipartStructure(extended)
	}
	typ, sub := p.Type, p.Subtype
	if typ == "multipart" || typ == "" || sub == "" {
		// Only from a hand-made Info: go-imap cannot write a multipart
		// without parts.
		typ, sub = "text", "plain"
	}
	bs := &imap.BodyStructureSinglePart{
		Type:        typ,
		Subtype:     sub,
		Params:      nilIfEmpty(p.Params),
		ID:          p.ID,
		Description: p.Description,
		Encoding:    p.Encoding,
		Size:        clampUint32(p.End - p.BodyStart),
	}
	switch {
	case p.isMessage():
		env := p.Envelope
		if env == nil {
			env = &imap.Envelope{}
		}
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      env,
			BodyStructure: p.Message.structure(extended),
			NumLines:      p.Lines,
		}
	case typ == "text":
		bs.Text = &imap.BodyStructureText{NumLines: p.Lines}
	}
	if extended {
		bs.Extended = &imap.BodyStructureSinglePartExt{
			Disposition: p.disposition(),
			Language:    p.Language,
			Location:    p.Location,
		}
	}
	return bs
}

func (p *Part) multipartStructure(extended bool) imap.BodyStructure {
	bs := &imap.BodyStructureMultiPart{Subtype: p.Subtype}
	for _, c := range p.Children {
		bs.Children = append(bs.Children, c.structure(extended))
	}
	if extended {
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      nilIfEmpty(p.Params),
			Disposition: p.disposition(),
			Language:    p.Language,
			Location:    p.Location,
		}
	}
	return bs
}

func (p *Part) disposition() *imap.BodyStructureDisposition {
	if p.Disposition == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: p.Disposition, Params: nilIfEmpty(p.DispositionParams)}
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func clampUint32(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}
