package imapd

import (
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// checkFlags refuses system flags that do not exist: a client cannot make
// up \Foo (RFC 3501 §2.3.2: "\" atom is for future system flags).
func checkFlags(flags []imap.Flag) error {
	for _, f := range flags {
		if strings.HasPrefix(string(f), `\`) && !knownSystemFlag(f) {
			return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Unknown system flag " + string(f)}
		}
	}
	return nil
}

// knownSystemFlag: the system flags, and \Recent, which is accepted and
// ignored (the store does not keep it).
func knownSystemFlag(f imap.Flag) bool {
	if strings.EqualFold(string(f), `\Recent`) {
		return true
	}
	return slices.ContainsFunc(systemFlags, func(sys imap.Flag) bool { return strings.EqualFold(string(f), string(sys)) })
}

var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Mailbox is read-only"}

// Store changes flags and, unless .SILENT, reports the new flags.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	v, err := s.selected()
	if err != nil {
		return err
	}
	if v.readOnly {
		return errReadOnly
	}
	if err := checkFlags(flags.Flags); err != nil {
		return err
	}
	seqs, uids, err := v.resolve(numSet)
	if err != nil {
		return err
	}
	op := map[imap.StoreFlagsOp]mailstore.FlagOp{
		imap.StoreFlagsSet: mailstore.FlagsSet, imap.StoreFlagsAdd: mailstore.FlagsAdd, imap.StoreFlagsDel: mailstore.FlagsRemove,
	}[flags.Op]
	changed, err := s.store().StoreFlags(s.ctx(), s.acct.ID, v.mbox.ID, uids, op, storeFlags(flags.Flags))
	if err != nil {
		return s.storeErr("store", err)
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

// Copy copies messages to another mailbox (UIDPLUS COPYUID). COPY is
// allowed in a mailbox opened with EXAMINE: it does not change the source.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	v, err := s.selected()
	if err != nil {
		return nil, err
	}
	dst, err := s.target(dest)
	if err != nil {
		return nil, err
	}
	_, uids, err := v.resolve(numSet)
	if err != nil {
		return nil, err
	}
	if err := s.copyQuota(v, uids); err != nil {
		return nil, err
	}
	res, err := s.store().Copy(s.ctx(), s.acct.ID, v.mbox.ID, uids, dst.ID)
	if err != nil {
		return nil, s.storeErr("copy", err)
	}
	if len(res.Pairs) == 0 {
		return nil, nil // nothing copied: no COPYUID, whose sets cannot be empty
	}
	return copyData(res), nil
}

// copyQuota refuses a COPY that would take the account over its quota
// (MOVE takes no more room and is not checked).
func (s *session) copyQuota(v *view, uids []uint32) error {
	msgs, err := s.store().Messages(s.ctx(), v.mbox.ID, uids)
	if err != nil {
		return s.internal("copy", err)
	}
	var size int64
	for _, m := range msgs {
		size += m.Size
	}
	ok, err := s.store().QuotaAllows(s.ctx(), s.acct.ID, size)
	if err != nil {
		return s.internal("copy quota", err)
	}
	if !ok {
		return errOverQuota
	}
	return nil
}

var errOverQuota = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}

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
	v, err := s.selected()
	if err != nil {
		return err
	}
	if v.readOnly {
		return errReadOnly
	}
	dst, err := s.target(dest)
	if err != nil {
		return err
	}
	if dst.ID == v.mbox.ID {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Source and destination are the same mailbox"}
	}
	_, uids, err := v.resolve(numSet)
	if err != nil {
		return err
	}
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
// EXPUNGE) and reports them, with any expunges made by others. Only
// messages the client knows of are removed. CLOSE calls it with a writer
// that discards: in a mailbox opened with EXAMINE, CLOSE expunges nothing
// and succeeds (RFC 3501 §6.4.2).
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	closing := *w == imapserver.ExpungeWriter{} // go-imap's CLOSE writer has no connection
	v, err := s.selected()
	if err != nil {
		if closing {
			return nil
		}
		return err
	}
	if v.readOnly {
		if closing {
			return nil
		}
		return errReadOnly
	}
	only := slices.Clone(v.uids)
	if uids != nil {
		if _, only, err = v.resolve(*uids); err != nil {
			return err
		}
	}
	if only == nil {
		only = []uint32{} // nil would mean every message to the store
	}
	gone, err := s.store().Expunge(s.ctx(), s.acct.ID, v.mbox.ID, only)
	if err != nil {
		return s.storeErr("expunge", err)
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
	if err := checkFlags(options.Flags); err != nil {
		return nil, err
	}
	m, err := s.target(mailbox)
	if err != nil {
		return nil, err
	}
	if r.Size() > int64(s.srv.opts.AppendLimit) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too big"}
	}
	if ok, err := s.store().QuotaAllows(s.ctx(), s.acct.ID, r.Size()); err != nil {
		return nil, s.internal("append quota", err)
	} else if !ok {
		return nil, errOverQuota
	}
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	lit := &literal{r: r}
	placed, err := s.store().Append(s.ctx(), s.acct.ID, m.Name, storeFlags(options.Flags), date, lit)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errTryCreate
	}
	if lit.err != nil {
		return nil, lit.err // the client went away mid-message: not our failure
	}
	if err != nil {
		return nil, s.internal("append", err)
	}
	return &imap.AppendData{UID: imap.UID(placed.UID), UIDValidity: placed.UIDValidity}, nil
}

// literal remembers the error reading an APPEND literal from the client.
type literal struct {
	r   io.Reader
	err error
}

func (l *literal) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}
