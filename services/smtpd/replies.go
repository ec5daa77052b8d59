package smtpd

import "github.com/emersion/go-smtp"

// Replies the server sends. Their text is generic on purpose: it tells the
// client what to do without revealing configuration; details go to the log.
var (
	errTemporary = reply(451, 4, 3, 0, "temporary failure, try again")
	errShutdown  = reply(421, 4, 3, 2, "service shutting down, try again later")

	errAuthRequired  = reply(530, 5, 7, 0, "authentication required")
	errAuthNotHere   = reply(502, 5, 5, 1, "authentication not offered on this port, use submission")
	errEncryptionReq = reply(538, 5, 7, 11, "encryption required")
	errAuthInvalid   = reply(535, 5, 7, 8, "authentication failed")
	errAuthTemporary = reply(454, 4, 7, 0, "temporary authentication failure")
	errAuthMechanism = reply(504, 5, 5, 4, "unsupported authentication mechanism")
	errAuthSyntax    = reply(501, 5, 5, 2, "malformed authentication exchange")

	errSenderNotOwned = reply(553, 5, 7, 1, "sender address not owned")
	errBadSender      = reply(553, 5, 1, 7, "bad sender address syntax")
	errBadRecipient   = reply(501, 5, 1, 3, "bad recipient address syntax")
	errNeedSMTPUTF8   = reply(553, 5, 6, 7, "non-ASCII address requires SMTPUTF8")
	errNoSuchUser     = reply(550, 5, 1, 1, "no such user")
	errRelayDenied    = reply(554, 5, 7, 1, "relay access denied")
	errMailboxFull    = reply(452, 4, 2, 2, "mailbox full, try again later")

	errRequireTLSNoTLS = reply(555, 5, 5, 4, "REQUIRETLS needs TLS")

	errBareLFCR = reply(550, 5, 6, 11, "bare LF or CR not allowed")
)

func reply(code, class, subject, detail int, text string) *smtp.SMTPError {
	return &smtp.SMTPError{
		Code:         code,
		EnhancedCode: smtp.EnhancedCode{class, subject, detail},
		Message:      text,
	}
}
