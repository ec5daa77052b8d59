#!/usr/bin/env python3
"""Adds an ARC set to a message with Debian's python3-dkim (and
python3-authres), an implementation independent of ours.

Usage: arcseal.py MESSAGE KEY.pem SELECTOR DOMAIN AUTHSERV-ID

KEY.pem is a PKCS#1 RSA private key. The message must carry an
Authentication-Results field from AUTHSERV-ID. Writes the sealed message
(the new ARC fields, then MESSAGE) to standard output."""
import sys

import dkim

with open(sys.argv[1], "rb") as f:
    msg = f.read()
with open(sys.argv[2], "rb") as f:
    key = f.read()
selector, domain, srv_id = (a.encode() for a in sys.argv[3:6])
fields = dkim.arc_sign(msg, selector, domain, key, srv_id)
if not fields:
    sys.exit("arc_sign added nothing (no Authentication-Results from %s?)" % srv_id.decode())
sys.stdout.buffer.write(b"".join(fields) + msg)
