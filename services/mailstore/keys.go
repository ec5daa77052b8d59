package mailstore

import (
	"encoding/binary"
	"strings"
)

// Table prefixes. Every key starts with one of these; see the package
// documentation for what each table holds. The layout is versioned by
// schemaVersion.
const (
	tVersion  = "ver"
	tDomain   = "dom/"
	tAccount  = "acc/"
	tAddress  = "adr/"
	tAlias    = "ali/"
	tMailbox  = "mbx/"
	tMboxName = "mbn/"
	tMessage  = "msg/"
	tModSeq   = "mms/"
	tBody     = "bod/"
	tRefs     = "brc/"
	tChunk    = "chk/"
	tPending  = "pnd/"
	tQueue    = "que/"
	tSeq      = "seq/"
	tBlob     = "blb/"
)

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func key(prefix string, parts ...[]byte) []byte {
	k := []byte(prefix)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func domainKey(name string) []byte  { return key(tDomain, []byte(name)) }
func accountKey(id uint64) []byte   { return key(tAccount, be64(id)) }
func addressKey(addr string) []byte { return key(tAddress, []byte(addr)) }
func aliasKey(addr string) []byte   { return key(tAlias, []byte(addr)) }
func blobKey(name string) []byte    { return key(tBlob, []byte(name)) }
func queueKey(id uint64) []byte     { return key(tQueue, be64(id)) }
func bodyKey(id uint64) []byte      { return key(tBody, be64(id)) }
func refsKey(id uint64) []byte      { return key(tRefs, be64(id)) }
func pendingKey(id uint64) []byte   { return key(tPending, be64(id)) }

func mailboxKey(acct, mbox uint64) []byte { return key(tMailbox, be64(acct), be64(mbox)) }
func mailboxPrefix(acct uint64) []byte    { return key(tMailbox, be64(acct)) }

// mailboxNameKey indexes mailboxes by name. INBOX is case-insensitive
// (RFC 3501 §5.1), so it is always stored as "INBOX".
func mailboxNameKey(acct uint64, name string) []byte {
	return key(tMboxName, be64(acct), []byte(name))
}

func messageKey(mbox uint64, uid uint32) []byte {
	return binary.BigEndian.AppendUint32(key(tMessage, be64(mbox)), uid)
}
func messagePrefix(mbox uint64) []byte { return key(tMessage, be64(mbox)) }

func modseqKey(mbox, modseq uint64) []byte { return key(tModSeq, be64(mbox), be64(modseq)) }
func modseqPrefix(mbox uint64) []byte      { return key(tModSeq, be64(mbox)) }

func chunkKey(body uint64, n uint32) []byte {
	return binary.BigEndian.AppendUint32(key(tChunk, be64(body)), n)
}
func chunkPrefix(body uint64) []byte { return key(tChunk, be64(body)) }

// uidFromMessageKey returns the UID at the end of a message key.
func uidFromMessageKey(k []byte) uint32 { return binary.BigEndian.Uint32(k[len(k)-4:]) }

// idAt returns the big-endian uint64 that starts at offset off of k.
func idAt(k []byte, off int) uint64 { return binary.BigEndian.Uint64(k[off : off+8]) }

// NormalizeAddress lower-cases an address and trims surrounding space and
// angle brackets. Local parts are treated case-insensitively, as every
// common mail server does in practice.
func NormalizeAddress(addr string) string {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimPrefix(addr, "<")
	addr = strings.TrimSuffix(addr, ">")
	return strings.ToLower(addr)
}

// splitAddress splits user@domain; ok is false if there is no @ or either
// side is empty.
func splitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}
