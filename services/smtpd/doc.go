// Package smtpd is Facteur's SMTP server, built on github.com/emersion/go-smtp.
// It owns the three SMTP listeners and everything between the socket and the
// Backend: who may send what to whom, message size, the Received header, and
// refusing malformed message data.
//
//   - MX (port 25, [Server.ServeMX]): mail from other servers. Any
//     syntactically valid sender, including the null sender <>; only Local
//     recipients (Unknown: 550 5.1.1, Remote: 554 5.7.1, never an open
//     relay). STARTTLS when Options.TLSConfig is set. AUTH is never offered
//     or accepted here, with or without TLS: users submit on 587 or 465.
//   - Submission (port 587, [Server.ServeSubmission], STARTTLS) and
//     submissions (port 465, [Server.ServeSubmissions], implicit TLS): AUTH
//     PLAIN or LOGIN, only over TLS (538 5.7.11 before), required before MAIL
//     (530 5.7.0); the account must own the sender (553 5.7.1); Local and
//     Remote recipients. A wrong password gets 535 5.7.8 and
//     Options.AuthFailed; the third one on a connection also closes it.
//
// Every message gets a Received header (RFC 5321 section 4.4, with the
// RFC 3848 / RFC 6531 protocol names) and passes a check that refuses bare LF
// and lone CR with 550 5.6.11, which stops SMTP smuggling
// (CVE-2023-51766). Backend errors reach the client as 451 4.3.0 only; the
// log has the details. go-smtp recovers a panic in any command, replies 421
// and closes that connection, so this package adds no recover of its own.
//
// Implemented:
//
//   - SMTP (RFC 5321)
//   - STARTTLS (RFC 3207)
//   - AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN
//   - SIZE (RFC 1870)
//   - PIPELINING (RFC 2920)
//   - 8BITMIME (RFC 6152)
//   - SMTPUTF8 (RFC 6531)
//   - CHUNKING (RFC 3030), without BINARYMIME
//   - ENHANCEDSTATUSCODES (RFC 2034, RFC 3463)
//   - Received protocol names (RFC 3848)
//   - DSN (RFC 3461): RET, ENVID, NOTIFY and ORCPT reach the Backend in the
//     Envelope; the outbound queue carries them and writes the reports
//   - REQUIRETLS (RFC 8689), offered on TLS sessions only
//
// go-smtp also advertises LIMITS RCPTMAX (RFC 9422).
package smtpd
