package imapd

import (
	"strings"

	"facteur/services/mailstore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

const delim = '/'

// Create makes a mailbox, with a special-use attribute if asked (RFC 6154).
func (s *session) Create(name string, options *imap.CreateOptions) error {
	use := ""
	if options != nil && len(options.SpecialUse) > 0 {
		if len(options.SpecialUse) > 1 || !validSpecialUse(options.SpecialUse[0]) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode("USEATTR"), Text: "Unsupported special-use attribute"}
		}
		use = string(options.SpecialUse[0])
	}
	name = strings.TrimSuffix(name, string(delim)) // RFC 3501: a trailing delimiter is allowed
	return s.storeErr("create", s.store().CreateMailbox(s.ctx(), s.acct.ID, name, use))
}

// validSpecialUse reports whether CREATE may give a mailbox attribute a.
// \All and \Flagged name virtual mailboxes, which the store does not have:
// a plain mailbox with that attribute would mislead clients.
func validSpecialUse(a imap.MailboxAttr) bool {
	switch a {
	case imap.MailboxAttrArchive, imap.MailboxAttrDrafts, imap.MailboxAttrJunk,
		imap.MailboxAttrSent, imap.MailboxAttrTrash:
		return true
	}
	return false
}

// Delete removes a mailbox and its messages. Deleting the selected mailbox
// is allowed; selected-state commands then fail until the next SELECT.
func (s *session) Delete(name string) error {
	s.waitIdle()
	m, err := s.mailbox(name)
	if err != nil {
		return err
	}
	if err := s.store().DeleteMailbox(s.ctx(), s.acct.ID, m.Name); err != nil {
		return s.storeErr("delete", err)
	}
	if s.sel != nil && s.sel.mbox.ID == m.ID {
		s.unselect()
	}
	return nil
}

// Rename renames a mailbox and its children.
func (s *session) Rename(from, to string, options *imap.RenameOptions) error {
	return s.storeErr("rename", s.store().RenameMailbox(s.ctx(), s.acct.ID, from, to))
}

// Subscribe marks a mailbox subscribed.
func (s *session) Subscribe(name string) error {
	return s.storeErr("subscribe", s.store().SetSubscribed(s.ctx(), s.acct.ID, name, true))
}

// Unsubscribe clears a mailbox's subscription.
func (s *session) Unsubscribe(name string) error {
	return s.storeErr("unsubscribe", s.store().SetSubscribed(s.ctx(), s.acct.ID, name, false))
}

// Namespace reports the one personal namespace.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}}}, nil
}

// List implements LIST, LSUB and LIST-EXTENDED selection and return
// options. Special-use attributes and children are always returned.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		// go-imap drops empty patterns: this was LIST "" "", which asks
		// for the hierarchy delimiter and root (RFC 3501 §6.3.8).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	if options.ReturnStatus != nil {
		if err := checkStatusOptions(options.ReturnStatus); err != nil {
			return err
		}
	}
	boxes, err := s.store().Mailboxes(s.ctx(), s.acct.ID)
	if err != nil {
		return s.internal("list", err)
	}
	for _, m := range boxes {
		if !matchAny(m.Name, ref, patterns) {
			continue
		}
		data := s.listData(&m, boxes, options)
		if data == nil {
			continue
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, delim, ref, p) || imapserver.MatchList(name, delim, inboxCase(ref), inboxCase(p)) {
			return true
		}
	}
	return false
}

// inboxCase spells a leading INBOX (any case) as the store does: the name
// INBOX is case-insensitive (RFC 3501 §5.1), the others are not.
func inboxCase(p string) string {
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || p[5] == delim) {
		return "INBOX" + p[5:]
	}
	return p
}

// listData builds one LIST reply, or nil if the selection options skip m.
func (s *session) listData(m *mailstore.Mailbox, all []mailstore.Mailbox, options *imap.ListOptions) *imap.ListData {
	data := &imap.ListData{Mailbox: m.Name, Delim: delim}
	childSubscribed, hasChildren := false, false
	for _, c := range all {
		if strings.HasPrefix(c.Name, m.Name+string(delim)) {
			hasChildren = true
			childSubscribed = childSubscribed || c.Subscribed
		}
	}
	if options.SelectSpecialUse && m.SpecialUse == "" {
		return nil
	}
	if options.SelectSubscribed && !m.Subscribed {
		if !options.SelectRecursiveMatch || !childSubscribed {
			return nil
		}
		// Listed for its subscribed children only (RFC 5258 §3.5): it
		// exists, so it is not \NonExistent, and it is not \Subscribed.
		data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
	}
	if hasChildren {
		data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
	} else {
		data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
	}
	if m.Subscribed && (options.SelectSubscribed || options.ReturnSubscribed) {
		data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
	}
	if m.SpecialUse != "" {
		data.Attrs = append(data.Attrs, imap.MailboxAttr(m.SpecialUse))
	}
	if options.ReturnStatus != nil && data.ChildInfo == nil {
		data.Status = s.statusData(m, options.ReturnStatus)
	}
	return data
}

// Status reports a mailbox's counters from its record; it never scans.
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	if err := checkStatusOptions(options); err != nil {
		return nil, err
	}
	m, err := s.mailbox(name)
	if err != nil {
		return nil, err
	}
	return s.statusData(m, options), nil
}

// checkStatusOptions refuses DELETED-STORAGE, which go-imap parses but
// belongs to QUOTA (RFC 9208), not offered here. (go-imap would also
// dereference a nil count for it.)
func checkStatusOptions(o *imap.StatusOptions) error {
	if o.DeletedStorage {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Unknown STATUS data item"}
	}
	return nil
}

func (s *session) statusData(m *mailstore.Mailbox, options *imap.StatusOptions) *imap.StatusData {
	data := &imap.StatusData{Mailbox: m.Name}
	if options.AppendLimit {
		data.AppendLimit = ptr(s.srv.opts.AppendLimit)
	}
	if options.NumMessages {
		data.NumMessages = ptr(m.Messages)
	}
	if options.NumRecent {
		data.NumRecent = ptr(uint32(0))
	}
	if options.UIDNext {
		data.UIDNext = imap.UID(m.UIDNext)
	}
	if options.UIDValidity {
		data.UIDValidity = m.UIDValidity
	}
	if options.NumUnseen {
		data.NumUnseen = ptr(m.Unseen)
	}
	if options.NumDeleted {
		data.NumDeleted = ptr(m.Deleted)
	}
	if options.Size {
		data.Size = ptr(m.Size)
	}
	return data
}

func ptr[T any](v T) *T { return &v }
