// Package mailstore owns all of Facteur's durable mail state: domains,
// accounts (argon2id password hashes), aliases, mailboxes, messages and
// their bodies, the outbound queue and a few named blobs (the TLS
// certificate, the settings). It is the only package that imports Badger.
//
// # Durability
//
// Every write goes through one writer goroutine. It gathers the requests
// that arrive while the previous commit is on its way to disk and applies
// them in one Badger transaction, committed with SyncWrites (one fsync for
// the whole group). A caller's request returns only after that fsync, so a
// 250 after DATA or an OK after APPEND is never sent for data that a power
// cut could lose. Because there is a single writer, read-modify-write of
// counters (UIDNEXT, modseq, reference counts) needs no conflict detection
// and Badger's is turned off.
//
// # Bodies
//
// A body is stored once per delivery however many recipients it has, in
// 64 KiB chunks in Badger's value log, with a reference count; COPY shares
// the body. Bodies up to 1 MiB are written in the same transaction as the
// message records; larger ones are written ahead in 1 MiB transactions
// marked pending, and Open deletes pending chunks that a crash left behind.
// Readers (Body) hold one chunk at a time, so a 50 MB message never sits
// whole in memory.
//
// Chunks in Badger were chosen over content-addressed files beside it by
// measurement (BenchmarkBodyStorage, 8 concurrent writers, fsync before
// returning, ext4 on a 2-core VM, 2026-11-23): 10 KiB messages, the common
// case, went 3-4 times faster as chunks (about 0.35 ms per message against
// 1.2-1.5 ms) because one group commit's fsync covers many bodies, while
// each file needs its own fsync and a directory fsync; 1 MiB bodies went
// about 1.3 times faster as files (110-140 MB/s against 85-115 MB/s).
// Chunks also keep one consistency domain: a body and its records commit
// together, so there are no orphan files to collect after a crash.
//
// At delivery the body is parsed once (services/message) and the envelope
// and MIME structure that IMAP needs are stored with it.
//
// # Key layout (schema version 1)
//
// Integers are big-endian; IDs come from Badger sequences and are never 0.
//
//	ver                          schema version ("1")
//	dom/<domain>                 Domain (JSON)
//	acc/<acct:8>                 Account (JSON)
//	adr/<address>                account ID of a login address (8 bytes)
//	ali/<address or @domain>     Alias (JSON)
//	mbx/<acct:8><mbox:8>         Mailbox (JSON) with UIDNEXT, modseq and counters
//	mbn/<acct:8><name>           mailbox ID by name (8 bytes)
//	msg/<mbox:8><uid:4>          Message (JSON): body ID, flags, date, size, modseq
//	mms/<mbox:8><modseq:8>       change log: UID (4 bytes) + expunged (1 byte);
//	                             one entry per live message at its current modseq,
//	                             plus one tombstone per expunge
//	bod/<body:8>                 body header: size (uvarint), then the parsed
//	                             message.Info in message's stored form
//	brc/<body:8>                 reference count (8 bytes)
//	chk/<body:8><n:4>            chunk n of a body (64 KiB, the last one shorter)
//	pnd/<body:8>                 body written ahead, not yet committed
//	que/<id:8>                   QueueEntry (JSON)
//	seq/<name>                   Badger sequence leases (account, mailbox, body, queue)
//	blb/<name>                   named blobs
//
// # Change feed
//
// Feed notifies open sessions that a mailbox changed; they then read the
// change log (Changes) from the highest modseq they have seen. The log is
// ordered by commit, so sessions see new, expunged and re-flagged messages
// in the order they happened.
//
// # Tuning
//
// Badger is set up for a box with 1 GB of memory: two 8 MiB memtables, an
// 8 MiB block cache, a 4 MiB index cache, 128 MiB value-log files, no
// compression (mail bodies are mostly compressed already), two compactors.
package mailstore
