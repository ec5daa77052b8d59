package imapd

import (
	"slices"
	"sort"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// view is a session's picture of its selected mailbox: the UIDs the client
// has been told about, in sequence-number order, and the highest modseq it
// has caught up with. sync brings it up to date from the store's change log.
type view struct {
	mbox     *mailstore.Mailbox
	readOnly bool
	uids     []uint32
	modseq   uint64
	sub      *mailstore.Subscription
	// gone holds UIDs expunged in the store that the client has not been
	// told about yet (expunges are not sent during FETCH, STORE, SEARCH).
	gone  []uint32
	saved []uint32 // SEARCHRES result ($), as UIDs
	// own holds modseqs of flag changes this session made and reported
	// itself, so that sync does not echo them.
	own map[uint64]bool
}

// Select opens a mailbox.
func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.waitIdle()
	s.unselect()
	m, err := s.mailbox(name)
	if err != nil {
		return nil, err
	}
	sub := s.store().Feed().Subscribe(m.ID)
	m, uids, err := s.store().Snapshot(s.ctx(), s.acct.ID, m.ID)
	if err != nil {
		sub.Close()
		return nil, s.storeErr("select", err)
	}
	s.sel = &view{mbox: m, readOnly: options != nil && options.ReadOnly, uids: uids, modseq: m.HighestModSeq, sub: sub, own: map[uint64]bool{}}
	data := &imap.SelectData{
		Flags:          systemFlags,
		PermanentFlags: append(slices.Clone(systemFlags), imap.FlagWildcard),
		NumMessages:    uint32(len(uids)),
		UIDNext:        imap.UID(m.UIDNext),
		UIDValidity:    m.UIDValidity,
	}
	if s.sel.readOnly {
		data.PermanentFlags = nil
	}
	if m.Unseen > 0 {
		data.FirstUnseenSeqNum = s.firstUnseen()
	}
	if s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) {
		// RFC 9051 §6.3.2: the server MUST return a LIST response.
		data.List = s.selectList(m)
	}
	return data, nil
}

// selectList is the LIST reply for the mailbox being selected.
func (s *session) selectList(m *mailstore.Mailbox) *imap.ListData {
	boxes, err := s.store().Mailboxes(s.ctx(), s.acct.ID)
	if err != nil {
		s.srv.log.Warn("imap select list", "remote", s.remote.String(), "err", err)
		return nil
	}
	return s.listData(m, boxes, &imap.ListOptions{})
}

var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}

func (s *session) firstUnseen() uint32 {
	msgs, err := s.store().Messages(s.ctx(), s.sel.mbox.ID, s.sel.uids)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if !m.HasFlag(mailstore.FlagSeen) {
			return s.sel.seqOf(m.UID)
		}
	}
	return 0
}

// Unselect closes the selected mailbox without expunging.
func (s *session) Unselect() error {
	s.waitIdle()
	s.unselect()
	return nil
}

func (s *session) unselect() {
	if s.sel != nil {
		s.sel.sub.Close()
		s.sel = nil
	}
}

// seqOf returns the sequence number of uid in the view, 0 if absent.
func (v *view) seqOf(uid uint32) uint32 {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

// remove drops uid from the view and returns its former sequence number.
func (v *view) remove(uid uint32) uint32 {
	seq := v.seqOf(uid)
	if seq != 0 {
		v.uids = slices.Delete(v.uids, int(seq-1), int(seq))
	}
	return seq
}

// Poll reports changes made by others since the last command.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	s.waitIdle()
	if s.sel == nil {
		return nil
	}
	return s.sync(w, allowExpunge)
}

// Idle reports changes as they happen until stop is closed.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	select {
	case <-stop:
		// IDLE already ended (the client hung up) and the next command
		// may be running: touch nothing.
		return nil
	default:
	}
	if s.sel == nil {
		<-stop
		return nil
	}
	for {
		if err := s.sync(w, true); err != nil {
			return err
		}
		select {
		case <-s.sel.sub.C:
		case <-stop:
			return nil
		}
	}
}

// sync reads the change log after the view's modseq and tells the client:
// expunges (when allowed), new messages (EXISTS) and flag changes.
func (s *session) sync(w *imapserver.UpdateWriter, allowExpunge bool) error {
	v := s.sel
	changes, err := s.store().Changes(s.ctx(), v.mbox.ID, v.modseq)
	if err != nil {
		return s.internal("sync", err)
	}
	last := uint32(0)
	if len(v.uids) > 0 {
		last = v.uids[len(v.uids)-1]
	}
	var added, flagged []uint32
	for _, c := range changes {
		v.modseq = max(v.modseq, c.ModSeq)
		switch {
		case c.Expunged:
			if v.seqOf(c.UID) != 0 && !slices.Contains(v.gone, c.UID) {
				v.gone = append(v.gone, c.UID)
			}
		case c.UID > last:
			added = append(added, c.UID)
		case v.own[c.ModSeq]:
			delete(v.own, c.ModSeq)
		case v.seqOf(c.UID) != 0:
			flagged = append(flagged, c.UID)
		}
	}
	for ms := range v.own {
		if ms <= v.modseq {
			delete(v.own, ms) // superseded by a later change
		}
	}
	if allowExpunge {
		if err := s.flushExpunges(w); err != nil {
			return err
		}
	}
	if err := s.writeFlags(w, flagged); err != nil {
		return err
	}
	if len(added) > 0 {
		sort.Slice(added, func(i, j int) bool { return added[i] < added[j] })
		v.uids = append(v.uids, slices.Compact(added)...)
		return w.WriteNumMessages(uint32(len(v.uids)))
	}
	return nil
}

func (s *session) flushExpunges(w *imapserver.UpdateWriter) error {
	v := s.sel
	for _, uid := range v.gone {
		if seq := v.remove(uid); seq != 0 {
			if err := w.WriteExpunge(seq); err != nil {
				return err
			}
		}
	}
	v.gone = v.gone[:0]
	return nil
}

func (s *session) writeFlags(w *imapserver.UpdateWriter, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	slices.Sort(uids)
	msgs, err := s.store().Messages(s.ctx(), s.sel.mbox.ID, slices.Compact(uids))
	if err != nil {
		return s.internal("sync flags", err)
	}
	for _, m := range msgs {
		if seq := s.sel.seqOf(m.UID); seq != 0 {
			if err := w.WriteMessageFlags(seq, imap.UID(m.UID), imapFlags(m.Flags)); err != nil {
				return err
			}
		}
	}
	return nil
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

func storeFlags(flags []imap.Flag) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = string(f)
	}
	return out
}

// errBadSeq answers a sequence number the client was never told about
// (RFC 9051 §9, "seq-number": such a number is invalid).
var errBadSeq = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Message sequence number out of range"}

// resolve turns a sequence or UID set into (seq, uid) pairs of the view,
// in ascending order. SEARCHRES's $ uses the saved result. UIDs that do
// not exist are ignored; sequence numbers past the end are an error,
// except in "n:*".
func (v *view) resolve(numSet imap.NumSet) (seqs, uids []uint32, err error) {
	if imap.IsSearchRes(numSet) {
		for _, uid := range v.saved {
			if seq := v.seqOf(uid); seq != 0 {
				seqs, uids = append(seqs, seq), append(uids, uid)
			}
		}
		return seqs, uids, nil
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		n := uint32(len(v.uids))
		for _, r := range set {
			if r.Start != 0 && r.Stop != 0 && max(r.Start, r.Stop) > n {
				return nil, nil, errBadSeq
			}
		}
		for i := uint32(1); i <= n; i++ {
			if seqContains(set, i, n) {
				seqs, uids = append(seqs, i), append(uids, v.uids[i-1])
			}
		}
	case imap.UIDSet:
		var maxUID uint32
		if len(v.uids) > 0 {
			maxUID = v.uids[len(v.uids)-1]
		}
		for i, uid := range v.uids {
			if uidContains(set, uid, maxUID) {
				seqs, uids = append(seqs, uint32(i+1)), append(uids, uid)
			}
		}
	}
	return seqs, uids, nil
}

// seqContains tests membership with "*" standing for n (and a:b == b:a).
func seqContains(set imap.SeqSet, num, n uint32) bool {
	for _, r := range set {
		lo, hi := star(r.Start, n), star(r.Stop, n)
		if lo > hi {
			lo, hi = hi, lo
		}
		if num >= lo && num <= hi {
			return true
		}
	}
	return false
}

func uidContains(set imap.UIDSet, uid, maxUID uint32) bool {
	for _, r := range set {
		lo, hi := star(uint32(r.Start), maxUID), star(uint32(r.Stop), maxUID)
		if lo > hi {
			lo, hi = hi, lo
		}
		if uid >= lo && uid <= hi {
			return true
		}
	}
	return false
}

func star(v, n uint32) uint32 {
	if v == 0 {
		return n
	}
	return v
}
