// Package message owns Facteur's view of a message's MIME structure. It
// parses an RFC 5322 message once, at delivery, in a single streaming pass
// into an Info: the size, the top-level ENVELOPE and a tree of Parts located
// by byte offsets in the raw message. Later, with the raw message available
// only as an io.ReaderAt, it extracts what IMAP FETCH and SEARCH need without
// holding a message or a part body in memory: BODY[section] (Section),
// BINARY[section] and BINARY.SIZE (Binary, BinarySize), the top-level header
// (Header) and full-text matching (MatchText).
//
// It implements the parts of these specifications that a server needs:
//
//   - RFC 5322: header fields, folding, the header/body separator.
//   - RFC 2045, 2046: Content-Type and Content-Transfer-Encoding (base64,
//     quoted-printable), multipart boundaries (the CRLF before a boundary
//     belongs to the boundary; trailing whitespace is allowed),
//     message/rfc822 and the multipart/digest default.
//   - RFC 2047: encoded words in Subject, address display names and, as is
//     common in the wild, in parameter values. Charsets are converted to
//     UTF-8 with go-message's charset package.
//   - RFC 2231: parameter value continuations, charsets and languages.
//   - RFC 3501 §6.4.5 and §7.4.2, RFC 9051 §6.4.5 and §7.5.2: section
//     numbering, HEADER, HEADER.FIELDS[.NOT], TEXT and MIME specifiers,
//     partial fetches, BODY and BODYSTRUCTURE, ENVELOPE.
//   - RFC 3516: BINARY[section]<partial> and BINARY.SIZE.
//
// Parsing never fails on broken MIME; malformed input degrades instead: an
// unparseable Content-Type is text/plain, a multipart without a boundary or
// without any boundary line is one text/plain part, a line that is not a
// header field ends the header and starts the body, bad base64 is decoded
// leniently. Only I/O errors are returned. Resources are capped: each header
// block keeps at most MaxHeaderBytes of fields, parts nest at most MaxDepth
// deep (deeper multiparts and messages are application/octet-stream
// leaves) and a message has at most MaxParts parts (the rest of a multipart
// is then part of its epilogue).
package message
