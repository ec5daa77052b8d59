package message

import (
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// envelope returns the ENVELOPE of a message header (RFC 3501 §7.4.2). It
// is go-imap's, with two changes: an address list that go-message could not
// parse because of an encoded word in an unknown charset is parsed again,
// reading that word as UTF-8, rather than left out; and all strings are
// made valid UTF-8, so that they survive Marshal. A Subject in an unknown
// charset stays encoded, for the client to decode.
func envelope(h textproto.Header) *imap.Envelope {
	env := imapserver.ExtractEnvelope(h)
	env.Subject = clean(env.Subject)
	env.MessageID = clean(env.MessageID)
	for i, id := range env.InReplyTo {
		env.InReplyTo[i] = clean(id)
	}
	lists := []struct {
		key  string
		list *[]imap.Address
	}{
		{"From", &env.From}, {"Sender", &env.Sender}, {"Reply-To", &env.ReplyTo},
		{"To", &env.To}, {"Cc", &env.Cc}, {"Bcc", &env.Bcc},
	}
	for _, l := range lists {
		if len(*l.list) == 0 && h.Get(l.key) != "" {
			*l.list = parseAddresses(h.Get(l.key))
		}
		for i, a := range *l.list {
			(*l.list)[i] = imap.Address{Name: clean(a.Name), Mailbox: clean(a.Mailbox), Host: clean(a.Host)}
		}
	}
	return env
}

// parseAddresses parses an address list like go-imap does, but reads
// encoded words in unknown charsets as UTF-8.
func parseAddresses(v string) []imap.Address {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: lenientCharsetReader}}
	addrs, err := p.ParseList(v)
	if err != nil {
		return nil
	}
	var l []imap.Address
	for _, a := range addrs {
		mailbox, host, ok := strings.Cut(a.Address, "@")
		if ok {
			l = append(l, imap.Address{Name: a.Name, Mailbox: mailbox, Host: host})
		}
	}
	return l
}
