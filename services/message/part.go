package message

import (
	"github.com/emersion/go-imap/v2"
)

// Limits on what Parse keeps. They bound the memory of parsing and the size
// of an Info, whatever the input.
const (
	// MaxHeaderBytes is how much of one header block is parsed into fields.
	// Fields that end beyond it are ignored; the block still ends at its
	// blank line.
	MaxHeaderBytes = 1 << 20
	// MaxDepth is how deep multiparts and embedded messages nest. A
	// multipart or message part at this depth is an opaque leaf.
	MaxDepth = 100
	// MaxParts is how many parts a message has at most. Once reached, the
	// remaining parts of a multipart are folded into its epilogue.
	MaxParts = 10000
	// maxValue caps every string kept from a header field (parameter
	// values, Content-Description, ...), in bytes.
	maxValue = 8 << 10
)

// Part is one MIME part, located by byte offsets in the raw message.
type Part struct {
	HeaderStart int64 // offset of the part's first header line
	// BodyStart is the offset just after the blank line ending the header
	// (== HeaderStart if the part has no header).
	BodyStart int64
	// End is the offset of the end of the part's body (exclusive). For the
	// children of a multipart, it is before the CRLF that precedes the next
	// boundary.
	End int64

	// Type and Subtype are lower case, e.g. "text" and "plain". The default
	// is text/plain, or message/rfc822 inside multipart/digest.
	Type, Subtype string
	// Params are the Content-Type parameters, RFC 2231 decoded, with lower
	// case keys.
	Params map[string]string

	ID, Description, Encoding, MD5, Location string

	Disposition       string // lower case, "" without Content-Disposition
	DispositionParams map[string]string
	Language          []string

	// Lines is the number of lines of the body, for text/* and
	// message/rfc822 (and message/global) parts.
	Lines int64
	// DecodedSize is the size of the body of a leaf part after undoing the
	// Content-Transfer-Encoding; it is the BINARY.SIZE.
	DecodedSize int64

	Children []*Part // multipart/*
	// Message is the embedded message's root part, for message/rfc822 and
	// message/global.
	Message *Part
	// Envelope is the embedded message's envelope, for message/rfc822 and
	// message/global.
	Envelope *imap.Envelope
}

// Info is what Parse learns about a message.
type Info struct {
	Size     int64          // octets
	Envelope *imap.Envelope // of the top-level header
	Root     *Part          // the message itself: its header and body
}

func (p *Part) isMultipart() bool { return p.Type == "multipart" && len(p.Children) > 0 }

// isMessage reports whether p is a message/rfc822 (or message/global) part
// with a parsed embedded message.
func (p *Part) isMessage() bool { return p.Message != nil }

// isLeaf reports whether p's body is content rather than parts.
func (p *Part) isLeaf() bool { return !p.isMultipart() && !p.isMessage() }

// resolve returns the part that the IMAP section part path names, or nil.
// Part 1 of a non-multipart message is its body; the parts of a
// message/rfc822 part are those of the embedded message (RFC 3501 §6.4.5).
func resolve(root *Part, path []int) *Part {
	msg, part := root, root
	for i, n := range path {
		if i > 0 {
			msg = part
			if part.isMessage() {
				msg = part.Message
			}
		}
		switch {
		case msg.isMultipart():
			if n < 1 || n > len(msg.Children) {
				return nil
			}
			part = msg.Children[n-1]
		case n == 1:
			part = msg
		default:
			return nil
		}
	}
	return part
}
