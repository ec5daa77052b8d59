package imapd

import (
	"errors"
	"io"

	"facteur/services/mailstore"
	"facteur/services/message"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Fetch writes the requested items of each message. Reading a body section
// without PEEK sets \Seen (unless the mailbox is read-only), and the new
// flags are then included in the reply.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	v, err := s.selected()
	if err != nil {
		return err
	}
	seqs, uids, err := v.resolve(numSet)
	if err != nil {
		return err
	}
	msgs, err := s.store().Messages(s.ctx(), v.mbox.ID, uids)
	if err != nil {
		return s.internal("fetch", err)
	}
	if err := s.checkBinaryAll(msgs, options); err != nil {
		return err // before \Seen is set: a failed FETCH changes nothing
	}
	setsSeen := !v.readOnly && fetchSetsSeen(options)
	if setsSeen {
		if msgs, err = s.markSeen(msgs); err != nil {
			return err
		}
	}
	j := 0
	for _, m := range msgs {
		for j < len(uids) && uids[j] != m.UID {
			j++ // expunged by someone else: skipped
		}
		if j == len(uids) {
			break
		}
		if err := s.fetchOne(w, seqs[j], &m, options, setsSeen); err != nil {
			return err
		}
	}
	return nil
}

func fetchSetsSeen(o *imap.FetchOptions) bool {
	for _, bs := range o.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range o.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

// markSeen adds \Seen to msgs that lack it and returns the updated list.
func (s *session) markSeen(msgs []mailstore.Message) ([]mailstore.Message, error) {
	var unseen []uint32
	for _, m := range msgs {
		if !m.HasFlag(mailstore.FlagSeen) {
			unseen = append(unseen, m.UID)
		}
	}
	if len(unseen) == 0 {
		return msgs, nil
	}
	changed, err := s.store().StoreFlags(s.ctx(), s.acct.ID, s.sel.mbox.ID, unseen, mailstore.FlagsAdd, []string{mailstore.FlagSeen})
	if err != nil {
		return nil, s.internal("fetch set seen", err)
	}
	byUID := map[uint32]mailstore.Message{}
	for _, m := range changed {
		byUID[m.UID] = m
		s.sel.own[m.ModSeq] = true // the FETCH reply carries the new flags
	}
	for i, m := range msgs {
		if c, ok := byUID[m.UID]; ok {
			msgs[i] = c
		}
	}
	return msgs, nil
}

// fetchOne writes one FETCH response. Fetch checked what can fail for a
// reason the client should hear of (an unknown transfer encoding) before:
// once started, a response can only be ended.
func (s *session) fetchOne(w *imapserver.FetchWriter, seq uint32, m *mailstore.Message, o *imap.FetchOptions, withFlags bool) error {
	var body *mailstore.Body
	if needsBody(o) {
		var err error
		body, err = s.store().OpenBody(m.Body)
		if errors.Is(err, mailstore.ErrNotFound) {
			return nil // expunged by another session since Messages: skipped
		}
		if err != nil {
			return s.internal("fetch body", err)
		}
		defer body.Close()
	}
	rw := w.CreateMessage(seq)
	if o.UID {
		rw.WriteUID(imap.UID(m.UID))
	}
	if o.Flags || withFlags {
		rw.WriteFlags(imapFlags(m.Flags))
	}
	if o.InternalDate {
		rw.WriteInternalDate(m.Date)
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if body != nil {
		if err := writeBodyItems(rw, body, o); err != nil {
			// The reply is cut off, perhaps inside a literal whose length
			// is sent: nothing the client could read after it would make
			// sense. Hang up rather than leave it waiting for bytes.
			s.srv.log.Error("imap fetch: hanging up", "remote", s.remote.String(), "uid", m.UID, "err", err)
			s.conn.NetConn().Close()
			rw.Close()
			return err
		}
	}
	return rw.Close()
}

// checkBinaryAll runs checkBinary on every message of a FETCH that has
// BINARY items. It reads only the parsed structure kept with each body.
func (s *session) checkBinaryAll(msgs []mailstore.Message, o *imap.FetchOptions) error {
	if len(o.BinarySection) == 0 && len(o.BinarySectionSize) == 0 {
		return nil
	}
	for _, m := range msgs {
		body, err := s.store().OpenBody(m.Body)
		if errors.Is(err, mailstore.ErrNotFound) {
			continue // expunged since Messages
		}
		if err != nil {
			return s.internal("fetch body", err)
		}
		err = checkBinary(body.Info(), o)
		body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

var errUnknownCTE = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE, Text: "Unknown content transfer encoding"}

// checkBinary fails if a BINARY item names a part it cannot decode.
func checkBinary(info *message.Info, o *imap.FetchOptions) error {
	var parts [][]int
	for _, bs := range o.BinarySection {
		parts = append(parts, bs.Part)
	}
	for _, bs := range o.BinarySectionSize {
		parts = append(parts, bs.Part)
	}
	for _, part := range parts {
		_, err := message.BinarySize(info, part)
		if errors.Is(err, message.ErrUnknownEncoding) {
			return errUnknownCTE
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func needsBody(o *imap.FetchOptions) bool {
	return o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 ||
		len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

func writeBodyItems(rw *imapserver.FetchResponseWriter, body *mailstore.Body, o *imap.FetchOptions) error {
	info := body.Info()
	if o.Envelope {
		rw.WriteEnvelope(info.Envelope)
	}
	if o.BodyStructure != nil {
		rw.WriteBodyStructure(info.BodyStructure(o.BodyStructure.Extended))
	}
	for _, bs := range o.BodySection {
		r, n, err := message.Section(body, info, bs)
		if err != nil {
			return err
		}
		if err := copySection(rw.WriteBodySection(bs, n), r, n); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySection {
		r, n, err := message.Binary(body, info, bs.Part, bs.Partial)
		if err != nil {
			return err
		}
		if err := copySection(rw.WriteBinarySection(bs, n), r, n); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySectionSize {
		n, err := message.BinarySize(info, bs.Part)
		if err != nil {
			return err
		}
		rw.WriteBinarySectionSize(bs, uint32(n))
	}
	return nil
}

// copySection streams exactly n bytes; the literal's length was already
// sent, so a short read is an error that ends the connection.
func copySection(wc io.WriteCloser, r io.Reader, n int64) error {
	_, err := io.CopyN(wc, r, n)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}
