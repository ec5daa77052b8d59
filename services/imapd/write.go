package imapd

import (
	"errors"
	"time"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Mailbox is read-only"}

// Store changes flags and, unless .SILENT, reports the new flags.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	v := s.sel
	if v.readOnly {
		return errReadOnly
	}
	seqs, uids := v.resolve(numSet)
	op := map[imap.StoreFlagsOp]mailstore.FlagOp{
		imap.StoreFlagsSet: mailstore.FlagsSet, imap.StoreFlagsAdd: mailstore.FlagsAdd, imap.StoreFlagsDel: mailstore.FlagsRemove,
	}[flags.Op]
	changed, err := s.store().StoreFlags(s.ctx(), s.acct.ID, v.mbox.ID, uids, op, storeFlags(flags.Flags))
	if err != nil {
		return s.internal("store", err)
	}
	for _, m := range changed {
		v.own[m.ModSeq] = true // reported below (or silenced): not again by sync
	}
	if flags.Silent {
		return nil
	}
	// Report every addressed message, changed or not (RFC 3501 §6.4.6).
	msgs, err := s.store().Messages(s.ctx(), v.mbox.ID, uids)
	if err != nil {
		return s.internal("store", err)
	}
	j := 0
	for _, m := range msgs {
		for uids[j] != m.UID {
			j++
		}
		rw := w.CreateMessage(seqs[j])
		rw.WriteFlags(imapFlags(m.Flags))
		rw.WriteUID(imap.UID(m.UID))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Copy copies messages to another mailbox (UIDPLUS COPYUID).
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	dst, err := s.mailbox(dest)
	if err != nil {
		return nil, err
	}
	_, uids := s.sel.resolve(numSet)
	res, err := s.store().Copy(s.ctx(), s.acct.ID, s.sel.mbox.ID, uids, dst.ID)
	if err != nil {
		return nil, s.storeErr("copy", err)
	}
	return copyData(res), nil
}

func copyData(res *mailstore.CopyResult) *imap.CopyData {
	data := &imap.CopyData{UIDValidity: res.UIDValidity}
	for _, p := range res.Pairs {
		data.SourceUIDs.AddNum(imap.UID(p.Src))
		data.DestUIDs.AddNum(imap.UID(p.Dst))
	}
	return data
}

// Move moves messages atomically (RFC 6851) and reports their expunges.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	v := s.sel
	if v.readOnly {
		return errReadOnly
	}
	dst, err := s.mailbox(dest)
	if err != nil {
		return err
	}
	if dst.ID == v.mbox.ID {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Source and destination are the same mailbox"}
	}
	_, uids := v.resolve(numSet)
	res, err := s.store().Move(s.ctx(), s.acct.ID, v.mbox.ID, uids, dst.ID)
	if err != nil {
		return s.storeErr("move", err)
	}
	if len(res.Pairs) > 0 {
		if err := w.WriteCopyData(copyData(res)); err != nil {
			return err
		}
	}
	for _, p := range res.Pairs {
		if seq := v.remove(p.Src); seq != 0 {
			if err := w.WriteExpunge(seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// Expunge removes \Deleted messages (all, or those in uids for UID
// EXPUNGE) and reports them, with any expunges made by others.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	v := s.sel
	if v.readOnly {
		return errReadOnly
	}
	var only []uint32
	if uids != nil {
		_, only = v.resolve(*uids)
		if only == nil {
			only = []uint32{}
		}
	} else {
		only = v.uids
	}
	gone, err := s.store().Expunge(s.ctx(), s.acct.ID, v.mbox.ID, only)
	if err != nil {
		return s.internal("expunge", err)
	}
	for _, uid := range append(gone, v.gone...) {
		if seq := v.remove(uid); seq != 0 {
			if err := w.WriteExpunge(seq); err != nil {
				return err
			}
		}
	}
	v.gone = v.gone[:0]
	return nil
}

// Append stores a message; the OK (with APPENDUID) is sent only after it
// is on disk.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	m, err := s.mailbox(mailbox)
	if err != nil {
		return nil, err
	}
	if r.Size() > int64(s.srv.opts.AppendLimit) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too big"}
	}
	if ok, err := s.store().QuotaAllows(s.ctx(), s.acct.ID, r.Size()); err != nil {
		return nil, s.internal("append quota", err)
	} else if !ok {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}
	}
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	placed, err := s.store().Append(s.ctx(), s.acct.ID, m.Name, storeFlags(options.Flags), date, r)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errNoSuchMailbox
	}
	if err != nil {
		return nil, s.internal("append", err)
	}
	return &imap.AppendData{UID: imap.UID(placed.UID), UIDValidity: placed.UIDValidity}, nil
}
