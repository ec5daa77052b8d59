package pop3d

// cmdCAPA lists the capabilities usable in the current state (RFC 2449
// section 5): STLS before TLS, USER and SASL once a password may be sent.
func (c *session) cmdCAPA(cmd Command) error {
	if len(cmd.Args) != 0 {
		return c.syntax("CAPA")
	}
	caps := make([]string, 0, 8)
	if c.state == stateAuthorization {
		if !c.tls && c.srv.opts.TLSConfig != nil {
			caps = append(caps, "STLS")
		}
		if c.authAllowed() {
			caps = append(caps, "USER", "SASL PLAIN")
		}
		caps = append(caps, "AUTH-RESP-CODE")
	}
	caps = append(caps, "TOP", "UIDL", "RESP-CODES", "PIPELINING")
	if err := c.ok("Capability list follows"); err != nil {
		return err
	}
	for _, s := range caps {
		c.writeLine(s)
	}
	return c.endMulti()
}
