// Package pop3d is a POP3 server: it owns the protocol side of mail download
// (connections, TLS, authentication, the session state machine and the wire
// format) and reaches mailboxes only through the Backend interface.
//
// It implements:
//
//   - RFC 1939, Post Office Protocol version 3: USER, PASS, QUIT, STAT,
//     LIST, RETR, DELE, NOOP, RSET, TOP and UIDL (APOP is not offered).
//   - RFC 2449, the POP3 extension mechanism: CAPA, the RESP-CODES and
//     PIPELINING capabilities, the response codes [IN-USE], and the
//     255-octet command line limit.
//   - RFC 3206 response codes [AUTH], [SYS/TEMP] and [SYS/PERM] with the
//     AUTH-RESP-CODE capability (now part of RFC 5034).
//   - RFC 2595, STLS for POP3, plus implicit TLS (port 995) with ServeTLS.
//   - RFC 5034, the AUTH command, with the SASL PLAIN mechanism of RFC 4616,
//     with and without an initial response ("=" for an empty one).
//
// Passwords are accepted only over TLS unless Options.InsecureAuth is set.
// What a client sees on failure is a generic text with a response code;
// details go to the Options.Logger.
package pop3d
