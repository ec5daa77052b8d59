// Package queue delivers the outbound queue: the messages the store holds
// for remote recipients (mailstore.QueueEntry).
//
// For each due entry it groups the recipients by destination domain, finds
// the domain's mail servers (MX, falling back to the domain's own address
// when it has no MX, refusing a null MX, RFC 5321 section 5.1, RFC 7505),
// and runs one SMTP transaction per destination host for all of that
// domain's recipients. It uses STARTTLS whenever offered; an MTA-STS policy
// (RFC 8461) in enforce mode, or a message sent with REQUIRETLS (RFC 8689),
// makes a verified TLS connection mandatory. Temporary failures are retried
// with a growing delay (minutes, then hours) until the entry expires
// (default 5 days); the sender gets a delay warning once, then a delivery
// status notification (RFC 3464, multipart/report, RFC 6522) for every
// recipient that failed, unless the message was itself a bounce. DSN
// parameters given at submission (RFC 3461: RET, ENVID, NOTIFY, ORCPT) are
// passed on to servers that support DSN and honoured in our own reports.
//
// A smarthost option relays everything through one provider with AUTH over
// TLS (port 587 STARTTLS or 465 implicit TLS).
//
// The queue's state lives in the store: an entry's pending recipients, its
// attempt count and next attempt time are written durably after every
// attempt, so a restart (or kill -9) resumes where it stopped. A recipient is
// removed from an entry as soon as the remote server has accepted it; a
// crash in the instant between the remote's 250 and that write can deliver
// the message twice to that recipient (the duplicate RFC 5321 section 6.1
// accepts rather than a loss).
package queue
