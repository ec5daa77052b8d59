package pop3d

import (
	"fmt"
	"log/slog"
	"strconv"
)

// message returns the index of the message numbered arg, or the text of
// the error to send.
func (c *session) message(arg string) (int, string) {
	if !isDigits(arg) {
		return 0, "Invalid message number"
	}
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(c.msgs) || c.deleted[n-1] {
		return 0, "No such message"
	}
	return n - 1, ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stat counts the messages not marked deleted, and their octets.
func (c *session) stat() (n int, size int64) {
	for i, m := range c.msgs {
		if !c.deleted[i] {
			n++
			size += m.Size
		}
	}
	return n, size
}

func (c *session) cmdSTAT(cmd Command) error {
	if len(cmd.Args) != 0 {
		return c.syntax("STAT")
	}
	n, size := c.stat()
	return c.ok(fmt.Sprintf("%d %d", n, size))
}

// cmdLIST runs LIST (sizes) and UIDL (unique-ids), which share their form.
func (c *session) cmdLIST(cmd Command) error {
	if len(cmd.Args) > 1 {
		return c.syntax(cmd.Name + " [msg]")
	}
	info := func(i int) string {
		if cmd.Name == "UIDL" {
			return c.msgs[i].UID
		}
		return strconv.FormatInt(c.msgs[i].Size, 10)
	}
	if len(cmd.Args) == 1 {
		i, bad := c.message(cmd.Args[0])
		if bad != "" {
			return c.fail("", bad)
		}
		return c.ok(fmt.Sprintf("%d %s", i+1, info(i)))
	}
	head := "Unique-ids follow"
	if cmd.Name == "LIST" {
		n, size := c.stat()
		head = fmt.Sprintf("%d messages (%d octets)", n, size)
	}
	if err := c.ok(head); err != nil {
		return err
	}
	for i := range c.msgs {
		if !c.deleted[i] {
			if err := c.writeLine(fmt.Sprintf("%d %s", i+1, info(i))); err != nil {
				return err
			}
		}
	}
	return c.endMulti()
}

func (c *session) cmdDELE(cmd Command) error {
	if len(cmd.Args) != 1 {
		return c.syntax("DELE msg")
	}
	i, bad := c.message(cmd.Args[0])
	if bad != "" {
		return c.fail("", bad)
	}
	c.deleted[i] = true
	return c.ok(fmt.Sprintf("Message %d deleted", i+1))
}

func (c *session) cmdRSET(cmd Command) error {
	if len(cmd.Args) != 0 {
		return c.syntax("RSET")
	}
	clear(c.deleted)
	n, size := c.stat()
	return c.ok(fmt.Sprintf("Maildrop has %d messages (%d octets)", n, size))
}

func (c *session) cmdNOOP(cmd Command) error {
	if len(cmd.Args) != 0 {
		return c.syntax("NOOP")
	}
	return c.ok("")
}

// cmdQUIT ends the session; in the TRANSACTION state it first enters the
// UPDATE state and removes the deleted messages (RFC 1939 section 6).
func (c *session) cmdQUIT(cmd Command) error {
	if len(cmd.Args) != 0 {
		return c.syntax("QUIT")
	}
	if c.state == stateAuthorization {
		c.ok("Bye")
		return errCloseConn
	}
	deleted := make([]Message, 0, len(c.msgs))
	for i, d := range c.deleted {
		if d {
			deleted = append(deleted, c.msgs[i])
		}
	}
	err := c.drop.Commit(c.ctx, deleted)
	// Release the lock before the reply: a client may reconnect at once.
	c.closeMaildrop()
	if err != nil {
		c.log.Error("commit deletions", slog.Int("deleted", len(deleted)), slog.Any("err", err))
		c.fail(codeSysTemp, "Deleted messages were not removed")
		return errCloseConn
	}
	c.log.Info("quit", slog.Int("deleted", len(deleted)))
	c.ok(fmt.Sprintf("Bye, %d messages deleted", len(deleted)))
	return errCloseConn
}
