#!/usr/bin/env python3
"""Verify every DKIM signature of a message with Debian's python3-dkim, an
implementation independent of ours. Usage: dkimverify.py MESSAGE RECORDS.json
RECORDS.json maps DNS names ("sel._domainkey.example.com.") to TXT values,
which stand in for DNS (the records the box publishes)."""
import json
import sys

import dkim

msg = open(sys.argv[1], "rb").read()
records = json.load(open(sys.argv[2]))


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    txt = records.get(name.lower()) or records.get(name.lower().rstrip(".") + ".")
    return txt.encode() if txt else None


d = dkim.DKIM(msg)
sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
if not sigs:
    print("no DKIM-Signature")
    sys.exit(1)
ok = True
for i in range(len(sigs)):
    good = d.verify(idx=i, dnsfunc=dnsfunc)
    tags = dkim.util.parse_tag_value(sigs[i][1])
    print("signature %d (a=%s s=%s d=%s): %s" % (i, tags[b"a"].decode(), tags[b"s"].decode(), tags[b"d"].decode(),
                                               "pass" if good else "FAIL"))
    ok = ok and good
sys.exit(0 if ok else 1)
