package imapd

import (
	"errors"
	"mime"
	"strings"
	"time"

	"facteur/services/mailstore"
	"facteur/services/message"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/charset"
)

// Search evaluates criteria against every message of the view. Flags,
// dates and sizes come from the message records; headers and text are read
// from the body only when a criterion needs them.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	v, err := s.selected()
	if err != nil {
		return nil, err
	}
	if options.ReturnSave {
		v.saved = nil // a failed SEARCH leaves $ empty (RFC 5182 §2.1)
	}
	msgs, err := s.store().Messages(s.ctx(), v.mbox.ID, v.uids)
	if err != nil {
		return nil, s.internal("search", err)
	}
	var hits []uint32 // UIDs
	for i := range msgs {
		c := &candidate{s: s, m: &msgs[i], seq: v.seqOf(msgs[i].UID)}
		ok, err := c.match(criteria)
		c.close()
		if errors.Is(err, mailstore.ErrNotFound) {
			continue // expunged by another session since Messages
		}
		if err != nil {
			return nil, s.internal("search", err)
		}
		if ok {
			hits = append(hits, c.m.UID)
		}
	}
	if options.ReturnSave {
		v.saved = saved(hits, options)
	}
	return searchData(v, kind, hits), nil
}

// saved is what SEARCH RETURN (SAVE ...) keeps for $: only the lowest
// and/or highest hit when SAVE comes with MIN and/or MAX but neither ALL
// nor COUNT (RFC 5182 §2.4), else every hit. UIDs ascend with sequence
// numbers, so the ends of hits are the minimum and maximum either way.
func saved(hits []uint32, o *imap.SearchOptions) []uint32 {
	if len(hits) == 0 || o.ReturnAll || o.ReturnCount || !(o.ReturnMin || o.ReturnMax) {
		return hits
	}
	var out []uint32
	if o.ReturnMin {
		out = append(out, hits[0])
	}
	if o.ReturnMax && (!o.ReturnMin || len(hits) > 1) {
		out = append(out, hits[len(hits)-1])
	}
	return out
}

func searchData(v *view, kind imapserver.NumKind, hits []uint32) *imap.SearchData {
	data := &imap.SearchData{Count: uint32(len(hits))}
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for _, uid := range hits {
		n := uid
		if kind == imapserver.NumKindSeq {
			n = v.seqOf(uid)
			seqs.AddNum(n)
		} else {
			uids.AddNum(imap.UID(uid))
		}
		if data.Min == 0 || n < data.Min {
			data.Min = n
		}
		data.Max = max(data.Max, n)
	}
	if kind == imapserver.NumKindSeq {
		data.All = seqs
	} else {
		data.All = uids
	}
	return data
}

// candidate is one message under test; its body is opened on demand.
type candidate struct {
	s    *session
	m    *mailstore.Message
	seq  uint32
	body *mailstore.Body
}

func (c *candidate) open() (*mailstore.Body, error) {
	if c.body == nil {
		b, err := c.s.store().OpenBody(c.m.Body)
		if err != nil {
			return nil, err
		}
		c.body = b
	}
	return c.body, nil
}

func (c *candidate) close() {
	if c.body != nil {
		c.body.Close()
	}
}

// match reports whether the message satisfies every criterion (an AND).
func (c *candidate) match(cr *imap.SearchCriteria) (bool, error) {
	if !c.matchNumbers(cr) || !c.matchFlags(cr) || !c.matchRecord(cr) {
		return false, nil
	}
	for _, not := range cr.Not {
		ok, err := c.match(&not)
		if err != nil || ok {
			return false, err
		}
	}
	for _, or := range cr.Or {
		a, err := c.match(&or[0])
		if err != nil {
			return false, err
		}
		if !a {
			if b, err := c.match(&or[1]); err != nil || !b {
				return false, err
			}
		}
	}
	return c.matchContent(cr)
}

func (c *candidate) matchNumbers(cr *imap.SearchCriteria) bool {
	v := c.s.sel
	n := uint32(len(v.uids))
	for _, set := range cr.SeqNum {
		if !seqContains(set, c.seq, n) {
			return false
		}
	}
	for _, set := range cr.UID {
		if imap.IsSearchRes(set) {
			if !containsUID(v.saved, c.m.UID) {
				return false
			}
			continue
		}
		if n == 0 || !uidContains(set, c.m.UID, v.uids[n-1]) {
			return false
		}
	}
	return true
}

func containsUID(l []uint32, uid uint32) bool {
	for _, u := range l {
		if u == uid {
			return true
		}
	}
	return false
}

func (c *candidate) matchFlags(cr *imap.SearchCriteria) bool {
	for _, f := range cr.Flag {
		if f == imap.Flag(`\Recent`) || !c.m.HasFlag(string(f)) {
			return false
		}
	}
	for _, f := range cr.NotFlag {
		if f != imap.Flag(`\Recent`) && c.m.HasFlag(string(f)) {
			return false
		}
	}
	return true
}

// matchRecord checks internal date and size. Dates compare by day,
// ignoring time of day (RFC 9051 §6.4.4).
func (c *candidate) matchRecord(cr *imap.SearchCriteria) bool {
	day := dayOf(c.m.Date)
	if !cr.Since.IsZero() && day.Before(dayOf(cr.Since)) {
		return false
	}
	if !cr.Before.IsZero() && !day.Before(dayOf(cr.Before)) {
		return false
	}
	if cr.Larger > 0 && c.m.Size <= cr.Larger {
		return false
	}
	if cr.Smaller > 0 && c.m.Size >= cr.Smaller {
		return false
	}
	return true
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// matchContent checks the criteria that need the body: sent date,
// headers, body and text.
func (c *candidate) matchContent(cr *imap.SearchCriteria) (bool, error) {
	if cr.SentSince.IsZero() && cr.SentBefore.IsZero() && len(cr.Header) == 0 && len(cr.Body) == 0 && len(cr.Text) == 0 {
		return true, nil
	}
	b, err := c.open()
	if err != nil {
		return false, err
	}
	info := b.Info()
	if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		if info.Envelope == nil || info.Envelope.Date.IsZero() {
			return false, nil
		}
		sent := dayOf(info.Envelope.Date)
		if (!cr.SentSince.IsZero() && sent.Before(dayOf(cr.SentSince))) || (!cr.SentBefore.IsZero() && !sent.Before(dayOf(cr.SentBefore))) {
			return false, nil
		}
	}
	if len(cr.Header) > 0 {
		ok, err := matchHeaders(b, info, cr.Header)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, needle := range cr.Body {
		if ok, err := message.MatchText(b, info, needle, true); err != nil || !ok {
			return false, err
		}
	}
	for _, needle := range cr.Text {
		if ok, err := message.MatchText(b, info, needle, false); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// matchHeaders: an empty value matches any message with that field
// (RFC 9051 §6.4.4); otherwise a case-insensitive substring of the
// decoded field value.
func matchHeaders(b *mailstore.Body, info *message.Info, fields []imap.SearchCriteriaHeaderField) (bool, error) {
	h, err := message.Header(b, info)
	if err != nil {
		return false, err
	}
	for _, f := range fields {
		values := h.Values(f.Key)
		if len(values) == 0 {
			return false, nil
		}
		if f.Value == "" {
			continue
		}
		found := false
		for _, v := range values {
			if strings.Contains(strings.ToLower(decodeHeader(v)), strings.ToLower(f.Value)) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeHeader undoes RFC 2047 encoded words; undecodable input is
// matched as it is.
func decodeHeader(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}
